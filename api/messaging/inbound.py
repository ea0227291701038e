"""The inbound consumers: referrals from the affiliate system and the payment flow's events.

One FastStream app, one consumer group per topic, at-least-once: an offset is committed only after
its message was applied (or dead-lettered). The ledger's commands are idempotent by the message's
own reference, so a redelivered message has no second effect.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.specification import AsyncAPI
from opentelemetry.trace import SpanKind

from api.messaging.broker import broker_for, group_timing
from api.messaging.dead_letters import RETRY_DELAYS, dead_lettering, strict_json
from ledger import Ledger
from service import payments, referrals, tracing
from service.messages import PaymentMessage, ReferralMessage
from service.policy import Policy
from service.settings.messaging import MessagingSettings

Apply = Callable[..., Any]


def decode(message: StreamMessage[Any]) -> Any:
    """The JSON body of a message (FastStream decoder)."""
    return strict_json(message.body)


def consuming(topic: str, message: KafkaMessage) -> AbstractContextManager[object]:
    """The span of applying one message: in the partner's trace when its producer sent a ``traceparent``."""
    return tracing.span(f"{topic} process", parent=tracing.from_headers(message.headers), kind=SpanKind.CONSUMER,
                        attributes={"messaging.system": "kafka", "messaging.destination.name": topic})


def service_clock() -> datetime:
    """The service's clock: the time of every message applied. Neither the message's ``occurred_at``
    nor the record's timestamp (set by the producer) is trusted as the ledger's time."""
    return datetime.now(UTC)


def build_inbound(ledger: Ledger, policy: Policy, settings: MessagingSettings, *,
                  apply_referral: Apply | None = None, apply_payment: Apply | None = None,
                  retry_delays: tuple[float, ...] = RETRY_DELAYS,
                  clock: Callable[[], datetime] = service_clock) -> FastStream:
    """The consumers' FastStream app on a Kafka broker, with dead letters and retries."""
    bounds = settings.occurred_bounds()
    apply_referral = apply_referral or functools.partial(referrals.apply_referral, bounds=bounds)
    apply_payment = apply_payment or functools.partial(payments.apply_payment, bounds=bounds)
    broker = broker_for(settings)
    router = dead_lettering((settings.referrals_topic, settings.payments_topic), delays=retry_delays)
    timing = group_timing(settings)

    @router.subscriber(settings.referrals_topic, group_id=settings.referral_group_id, title=settings.referrals_topic,
                       description="Referral conversions and reversals from the affiliate system.",
                       ack_policy=AckPolicy.ACK, auto_offset_reset="earliest", decoder=decode, **timing)
    async def on_referral(body: ReferralMessage, message: KafkaMessage) -> None:
        """Grant or claw back a referral bonus, once per referral id."""
        with consuming(settings.referrals_topic, message):
            await asyncio.to_thread(apply_referral, ledger, policy, body, at=clock())

    @router.subscriber(settings.payments_topic, group_id=settings.payment_group_id, title=settings.payments_topic,
                       description="Pack purchases, wallet redemptions and refunds from the payment flow.",
                       ack_policy=AckPolicy.ACK, auto_offset_reset="earliest", decoder=decode, **timing)
    async def on_payment(body: PaymentMessage, message: KafkaMessage) -> None:
        """Credit a purchase or redemption, or refund a purchase, once per payment or redemption id."""
        with consuming(settings.payments_topic, message):
            await asyncio.to_thread(apply_payment, ledger, policy, body, at=clock())

    broker.include_router(router)
    return FastStream(broker, specification=specification(broker))


def specification(broker: KafkaBroker) -> AsyncAPI:
    """The AsyncAPI description of the consumers and their dead-letter topics."""
    return AsyncAPI(broker, title="Studio Ledger inbound events", version="1.0.0",
                    description="Messages the ledger consumes from the affiliate system and the payment flow.")
