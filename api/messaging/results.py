"""The ledger's result consumer: ``generation.completed`` captures the hold, ``generation.failed`` releases it.

At-least-once from Kafka (one consumer group); the ledger makes a repeat a no-op. A message that
does not validate, or that the ledger rejects (a generation it never saw), goes to ``<topic>.dlq``.
Any other error (the event store is unreachable) leaves the message to be read again: a result is
never dropped, so the offset moves on only once the ledger recorded it or the DLQ has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import anyio.to_thread
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from pydantic import ValidationError

from api.messaging.broker import group_timing, raw_body
from api.messaging.dead_letters import dead_lettering
from generation.messages import GenerationCompletedMessage, GenerationFailedMessage
from generation.settings import GenerationSettings
from ledger import Ledger, LedgerError
from service.results import apply_result

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0,)  # before reading a result again that the ledger could not record


def unprocessable(error: Exception) -> str | None:
    """The dead-letter reason (the error's name) for a result no retry can cure; None for a transient failure."""
    return type(error).__name__ if isinstance(error, ValidationError | LedgerError) else None


def add_result_consumer(broker: KafkaBroker, ledger: Ledger, settings: GenerationSettings, *,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """Subscribe the ledger to the workers' results on ``broker``."""
    topics = (settings.generation_completed_topic, settings.generation_failed_topic)
    router = dead_lettering(topics, classify=unprocessable, delays=RETRY_DELAYS)
    _subscribe(router, ledger, settings.generation_completed_topic, settings, GenerationCompletedMessage, clock)
    _subscribe(router, ledger, settings.generation_failed_topic, settings, GenerationFailedMessage, clock)
    broker.include_router(router)


def _subscribe(router: KafkaRouter, ledger: Ledger, topic: str, settings: GenerationSettings,
               model: type[GenerationCompletedMessage] | type[GenerationFailedMessage],
               clock: Callable[[], datetime]) -> None:
    @router.subscriber(topic, group_id=settings.results_group, ack_policy=AckPolicy.NACK_ON_ERROR,
                       auto_offset_reset="earliest", decoder=raw_body,
                       fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **group_timing(settings),
                       max_workers=settings.results_concurrency)
    async def on_result(body: bytes) -> None:
        result = model.model_validate_json(body)
        outcome = await anyio.to_thread.run_sync(apply_result, ledger, result, clock())
        if outcome is not None:
            log.info("generation %s: %s at position %s", result.generation_id, result.type, outcome.position)


def run_results(health_port: int = 0) -> None:
    """Apply the workers' results to the ledger until SIGINT or SIGTERM."""
    import asyncio

    from faststream import FastStream

    from api.messaging.broker import GENERATION_CLIENT_ID, broker_for
    from api.probes import start_probes, store_answers, watch_app
    from service.bootstrap import build_ledger

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = GenerationSettings()
    ledger = build_ledger()
    broker = broker_for(settings, client_id=GENERATION_CLIENT_ID)
    add_result_consumer(broker, ledger, settings)
    app = FastStream(broker)
    probes = start_probes(health_port)
    if probes is not None:
        watch_app(probes, app)
        probes.ready["event store"] = store_answers(ledger)
    try:
        asyncio.run(app.run())
    finally:
        ledger.close()
        if probes is not None:
            probes.stop()
