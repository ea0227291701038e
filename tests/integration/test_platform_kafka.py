"""The platform's wallet over Kafka on PostgreSQL and a real broker: the relay asks for a recharge's debit on
payments.requests, a fake platform answers on payments.events, and the inbound consumer ends the saga once;
an answer about a debit never asked for is dead-lettered with its reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from api.messaging.inbound import build_inbound
from api.messaging.relay import Relay
from ledger import Ledger
from ledger.recharge import RechargeStatus
from service.policy import load_policy
from service.recharges import recharge_of, request_recharge
from service.settings.messaging import MessagingSettings
from tests.conftest import T0
from tests.support.kafka_broker import NOIDA_SESSION_TIMEOUT_MS, create_topics, produce, read_topic, unique_name

pytestmark = pytest.mark.integration
POLICY = load_policy()


def settings_for(servers: str) -> MessagingSettings:
    """Topics, groups and a relay name of this test only."""
    return MessagingSettings(kafka_bootstrap_servers=servers, events_topic=unique_name("ledger.events"),
                             generation_requested_topic=unique_name("generation.requested"),
                             payments_requests_topic=unique_name("payments.requests"),
                             payments_topic=unique_name("payments.events"),
                             referrals_topic=unique_name("affiliate.referrals"), relay_name=unique_name("relay"),
                             referral_group_id=unique_name("g-referrals"), payment_group_id=unique_name("g-payments"),
                             consumer_session_timeout_ms=NOIDA_SESSION_TIMEOUT_MS,
                             consumer_rebalance_timeout_ms=NOIDA_SESSION_TIMEOUT_MS)


async def eventually(check: Callable[[], Any], expected: Any, within: float = 20.0) -> None:
    """Wait until ``check()`` (run in a thread) returns ``expected``."""
    value = None
    try:
        async with asyncio.timeout(within):
            while (value := await asyncio.to_thread(check)) != expected:
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"still {value!r} after {within}s, expected {expected!r}") from None


@pytest.fixture
async def running(pg_env: dict[str, str], kafka_bootstrap: str) -> AsyncIterator[tuple[Ledger, MessagingSettings]]:
    """A PostgreSQL ledger, its relay asking debits on Kafka and its inbound consumers, running for the test."""
    settings = settings_for(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.payments_topic, settings.referrals_topic,
                        settings.payments_requests_topic, settings.events_topic, settings.generation_requested_topic,
                        f"{settings.payments_topic}.dlq")
    ledger = Ledger(pg_env)
    relay = Relay(ledger, settings, debits=True)
    relaying = asyncio.create_task(relay.run())
    broker = build_inbound(ledger, POLICY, settings, retry_delays=(0.1,)).broker
    assert isinstance(broker, KafkaBroker)
    await broker.start()
    yield ledger, settings
    await broker.stop()
    relay.stop()
    await asyncio.wait_for(relaying, 10)
    ledger.close()


async def test_a_debit_asked_on_kafka_and_confirmed_there_grants_the_recharge_once(
        running: tuple[Ledger, MessagingSettings]) -> None:
    ledger, s = running
    view = await asyncio.to_thread(request_recharge, ledger, POLICY, user_id="ana", key="k-1", amount_minor=500,
                                   currency="INR", at=T0, deadline=timedelta(minutes=15))

    asked = await read_topic(s.kafka_bootstrap_servers, s.payments_requests_topic, 1)
    request = json.loads(asked[0].value)
    assert (asked[0].key, request["type"], request["amount_minor"]) == (
        str(view.recharge_id).encode(), "WalletDebitRequested", 500)

    confirmed = {"type": "WalletBalanceRedeemed", "redemption_id": "pay-77", "debit_id": request["debit_id"],
                 "user_id": "ana", "amount_minor": 500, "currency": "INR"}
    stranger = {**confirmed, "debit_id": "00000000-0000-0000-0000-000000000007"}
    await produce(s.kafka_bootstrap_servers, s.payments_topic,
                  [json.dumps(body).encode() for body in (confirmed, confirmed, stranger)])

    def status() -> RechargeStatus:
        return recharge_of(ledger, user_id="ana", recharge=view.recharge_id).status

    await eventually(status, RechargeStatus.CONFIRMED)
    dead = await read_topic(s.kafka_bootstrap_servers, f"{s.payments_topic}.dlq", 1, quiet=0.5)
    assert [dict(r.headers)["x-error"] for r in dead] == [b"unknown-debit"]
    wallet = await asyncio.to_thread(ledger.wallet, "ana")
    assert wallet is not None and wallet.available(T0) == 50
