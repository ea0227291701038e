"""The generation worker on Kafka: a FastStream consumer group on ``generation.requested``, with no database access.

Each request is rendered by ``GenerationHandler`` and answered on ``generation.completed`` or
``generation.failed`` (keyed by generation id). A message that is not a valid request, or one the
handler fails on, goes to ``generation.requested.dlq`` with the error in its headers; the worker
never stops on one. The offset is committed after the answer is published (``AckPolicy.ACK``), so a
worker killed mid-generation leaves the request to another worker of the group, which finds the
stored image or renders it; an answer the broker refused is not acknowledged either, and the request
is read again after a pause (the stored image makes the second pass cheap).
"""

from __future__ import annotations

import logging

from aiokafka.errors import KafkaError
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.trace import SpanKind

from api.messaging.broker import GENERATION_CLIENT_ID, broker_for, group_timing, raw_body
from api.messaging.dead_letters import dead_lettering
from media.handler import GenerationHandler
from media.messages import GenerationCompletedMessage, GenerationRequestedMessage
from service import tracing
from service.settings.media import MediaSettings

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0,)  # before reading a request again whose answer the broker refused


def unprocessable(error: Exception) -> str | None:
    """The dead-letter reason (the error's name) for a request the worker cannot answer; None when the
    broker refused the answer, which leaves the request to be read again."""
    return None if isinstance(error, KafkaError) else type(error).__name__


def add_worker(broker: KafkaBroker, handler: GenerationHandler, settings: MediaSettings) -> None:
    """Subscribe ``handler`` to ``generation.requested`` on ``broker``, in the workers' consumer group."""
    requested = settings.generation_requested_topic
    router = dead_lettering((requested,), classify=unprocessable, delays=RETRY_DELAYS)
    completed = router.publisher(settings.generation_completed_topic)
    failed = router.publisher(settings.generation_failed_topic)

    @router.subscriber(requested, group_id=settings.worker_group, ack_policy=AckPolicy.ACK,
                       auto_offset_reset="earliest", decoder=raw_body, max_poll_interval_ms=900_000,
                       fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **group_timing(settings),
                       max_workers=settings.worker_concurrency)
    async def on_requested(body: bytes, message: KafkaMessage) -> None:
        request = GenerationRequestedMessage.model_validate_json(body)
        # The render is the child of the relay's publication, so the request's trace goes on through Kafka.
        with tracing.span(f"{requested} process", parent=tracing.from_headers(message.headers), kind=SpanKind.CONSUMER,
                          attributes={"messaging.system": "kafka", "generation.id": str(request.generation_id)}):
            try:
                result = await handler.handle(request)
            except Exception:  # a bug or an unexpected answer is dead-lettered; it must not stop the worker
                log.exception("generation %s could not be handled", request.generation_id)
                raise
            topic = completed if isinstance(result, GenerationCompletedMessage) else failed
            await topic.publish(result.model_dump_json().encode(), key=str(result.generation_id).encode(),
                                headers={"type": result.type, "content-type": "application/json",
                                         **tracing.kafka_headers()})

    broker.include_router(router)


def build_worker_app(settings: MediaSettings, handler: GenerationHandler) -> FastStream:
    """The worker process: one broker, the request subscriber, and the model closed on shutdown."""
    broker = broker_for(settings, client_id=GENERATION_CLIENT_ID)
    add_worker(broker, handler, settings)
    app = FastStream(broker)
    app.after_shutdown(handler.model.aclose)
    return app

