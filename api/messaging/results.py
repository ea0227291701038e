"""The ledger's result consumer: ``generation.completed`` captures the hold, ``generation.failed`` releases it.

At-least-once from Kafka (one consumer group); the ledger makes a repeat a no-op. A message that
does not validate, or that the ledger rejects (a generation it never saw), goes to ``<topic>.dlq``.
A failure of the event store or the broker (``dead_letters.transient``) leaves the message to be read
again; any other error dead-letters it too. A result is never dropped: the offset moves on only once
the ledger recorded it or the DLQ has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import anyio.to_thread
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from api.messaging.broker import group_timing, raw_body
from api.messaging.dead_letters import dead_lettering, transient
from ledger import Ledger, LedgerError
from media.messages import GenerationCompletedMessage, GenerationFailedMessage
from service import tracing
from service.results import apply_result
from service.settings.media import MediaSettings

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0,)  # before reading a result again that the ledger could not record


def unprocessable(error: Exception) -> str | None:
    """The dead-letter reason (the error's name) for a result no retry can cure; None for a transient failure
    (a database or the broker out of reach). An error nobody foresaw is no transient failure: retried for
    ever, it would hold up every result behind it in its partition."""
    return None if transient(error) and not isinstance(error, ValidationError | LedgerError) else type(error).__name__


def add_result_consumer(broker: KafkaBroker, ledger: Ledger, settings: MediaSettings, *,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """Subscribe the ledger to the workers' results on ``broker``."""
    topics = (settings.generation_completed_topic, settings.generation_failed_topic)
    router = dead_lettering(topics, classify=unprocessable, delays=RETRY_DELAYS)
    _subscribe(router, ledger, settings.generation_completed_topic, settings, GenerationCompletedMessage, clock)
    _subscribe(router, ledger, settings.generation_failed_topic, settings, GenerationFailedMessage, clock)
    broker.include_router(router)


def _subscribe(router: KafkaRouter, ledger: Ledger, topic: str, settings: MediaSettings,
               model: type[GenerationCompletedMessage] | type[GenerationFailedMessage],
               clock: Callable[[], datetime]) -> None:
    @router.subscriber(topic, group_id=settings.results_group, ack_policy=AckPolicy.NACK_ON_ERROR,
                       auto_offset_reset="earliest", decoder=raw_body,
                       fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **group_timing(settings),
                       max_workers=settings.results_concurrency)
    async def on_result(body: bytes, message: KafkaMessage) -> None:
        result = model.model_validate_json(body)
        # The capture (or release) is the child of the worker's render that sent the result.
        with tracing.span(f"{topic} process", parent=tracing.from_headers(message.headers), kind=SpanKind.CONSUMER,
                          attributes={"messaging.system": "kafka", "generation.id": str(result.generation_id)}):
            outcome = await anyio.to_thread.run_sync(apply_result, ledger, result, clock())
        if outcome is not None:
            log.info("generation %s: %s at position %s", result.generation_id, result.type, outcome.position)

