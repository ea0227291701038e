"""The ledger's result consumer: ``generation.completed`` captures the hold, ``generation.failed`` releases it.

At-least-once from Kafka (one consumer group); the ledger makes a repeat a no-op. A message that
does not validate, or that the ledger rejects (a generation it never saw), goes to ``<topic>.dlq``.
Any other error (the event store is unreachable) leaves the message to be read again: a result is
never dropped, so the offset moves on only once the ledger recorded it or the DLQ has it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import anyio.to_thread
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from generation.messages import GenerationCompletedMessage, GenerationFailedMessage
from generation.worker import dead_letter, group_timing, raw_body
from ledger import Ledger, LedgerError
from service.results import apply_result
from service.settings.generation import GenerationSettings

log = logging.getLogger(__name__)


def add_result_consumer(broker: KafkaBroker, ledger: Ledger, settings: GenerationSettings, *,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """Subscribe the ledger to the workers' results on ``broker``."""
    _subscribe(broker, ledger, settings.generation_completed_topic, settings, GenerationCompletedMessage, clock)
    _subscribe(broker, ledger, settings.generation_failed_topic, settings, GenerationFailedMessage, clock)


def _subscribe(broker: KafkaBroker, ledger: Ledger, topic: str, settings: GenerationSettings,
               model: type[GenerationCompletedMessage] | type[GenerationFailedMessage],
               clock: Callable[[], datetime]) -> None:
    dlq = broker.publisher(f"{topic}.dlq")

    @broker.subscriber(topic, group_id=settings.results_group, ack_policy=AckPolicy.NACK_ON_ERROR,
                       auto_offset_reset="earliest", decoder=raw_body,
                       fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **group_timing(settings),
                       max_workers=settings.results_concurrency)
    async def on_result(body: bytes, message: KafkaMessage) -> None:
        try:
            result = model.model_validate_json(body)
            outcome = await anyio.to_thread.run_sync(apply_result, ledger, result, clock())
        except (ValidationError, LedgerError) as error:
            await dead_letter(dlq, body, message, error)
            return
        except Exception:  # the event store is unreachable: pause, then read the message again
            log.exception("result for %s not applied; it will be read again", message.message_id)
            await asyncio.sleep(1.0)
            raise
        if outcome is not None:
            log.info("generation %s: %s at position %s", result.generation_id, result.type, outcome.position)

