"""The generation worker: a FastStream consumer group on ``generation.requested``, with no database access.

Each request is rendered by ``GenerationHandler`` and answered on ``generation.completed`` or
``generation.failed`` (keyed by generation id). A message that is not a valid request goes to
``generation.requested.dlq`` with the error in its headers; the worker never stops on one. The offset
is committed after the answer is published (``AckPolicy.ACK``), so a worker killed mid-generation
leaves the request to another worker of the group, which finds the stored image or renders it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol, TypedDict

from aiokafka.errors import KafkaError
from faststream import AckPolicy, FastStream
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.publisher import DefaultPublisher
from faststream.message import StreamMessage
from pydantic import ValidationError

from generation.handler import GenerationHandler
from generation.messages import GenerationCompletedMessage, GenerationRequestedMessage
from service.settings.generation import GenerationSettings

log = logging.getLogger(__name__)


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """Decode nothing: handlers validate the bytes themselves, so bad input reaches the DLQ."""
    return message.body


async def dead_letter(dlq: DefaultPublisher, body: bytes, message: KafkaMessage, error: Exception) -> None:
    """Park a message that cannot be processed on the DLQ, with the same headers as the inbound
    consumers' dead letters: the error, and the original topic, partition and offset."""
    raw = message.raw_message
    key = getattr(raw, "key", None)
    log.error("message sent to %s: %s", dlq.topic, error)
    await dlq.publish(body, key=key, headers={
        "x-error": type(error).__name__,
        "x-error-message": str(error)[:2000],
        "x-original-topic": str(getattr(raw, "topic", "")),
        "x-original-partition": str(getattr(raw, "partition", "")),
        "x-original-offset": str(getattr(raw, "offset", "")),
    })


class GroupTiming(Protocol):
    """The settings that time a consumer group member (the generation and the messaging settings)."""

    consumer_session_timeout_ms: int
    consumer_rebalance_timeout_ms: int


class Timing(TypedDict):
    """Keyword arguments of a Kafka subscriber."""

    session_timeout_ms: int
    heartbeat_interval_ms: int
    rebalance_timeout_ms: int


def group_timing(settings: GroupTiming) -> Timing:
    """A group member's session and rebalance timeouts, with a heartbeat a quarter of the session."""
    session = settings.consumer_session_timeout_ms
    return Timing(session_timeout_ms=session, heartbeat_interval_ms=max(100, session // 4),
                  rebalance_timeout_ms=settings.consumer_rebalance_timeout_ms)


def broker_for(settings: GenerationSettings) -> KafkaBroker:
    """A Kafka broker client whose producer waits for every replica and is idempotent."""
    return KafkaBroker(settings.kafka_bootstrap_servers, acks="all", enable_idempotence=settings.kafka_idempotence,
                       client_id="studio-generation")


def add_worker(broker: KafkaBroker, handler: GenerationHandler, settings: GenerationSettings) -> None:
    """Subscribe ``handler`` to ``generation.requested`` on ``broker``, in the workers' consumer group."""
    requested = settings.generation_requested_topic
    completed = broker.publisher(settings.generation_completed_topic)
    failed = broker.publisher(settings.generation_failed_topic)
    dlq = broker.publisher(f"{requested}.dlq")

    @broker.subscriber(requested, group_id=settings.worker_group, ack_policy=AckPolicy.ACK,
                       auto_offset_reset="earliest", decoder=raw_body, max_poll_interval_ms=900_000,
                       fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **group_timing(settings),
                       max_workers=settings.worker_concurrency)
    async def on_requested(body: bytes, message: KafkaMessage) -> None:
        try:
            request = GenerationRequestedMessage.model_validate_json(body)
        except ValidationError as error:
            await _unless_broker_down(dead_letter(dlq, body, message, error))
            return
        try:
            result = await handler.handle(request)
        except Exception as error:  # a bug or an unexpected answer must not stop the worker
            log.exception("generation %s could not be handled", request.generation_id)
            await _unless_broker_down(dead_letter(dlq, body, message, error))
            return
        topic = completed if isinstance(result, GenerationCompletedMessage) else failed
        await _unless_broker_down(topic.publish(
            result.model_dump_json().encode(), key=str(result.generation_id).encode(),
            headers={"type": result.type, "content-type": "application/json"}))


async def _unless_broker_down(publishing: Awaitable[Any]) -> None:
    # An answer that could not be published must not be acknowledged: read the request again
    # (the stored image makes the second pass cheap) after a pause, rather than lose it.
    try:
        await publishing
    except KafkaError as error:
        log.warning("publishing failed (%s); the request will be read again", error)
        await asyncio.sleep(1.0)
        raise NackMessage() from error


def build_worker_app(settings: GenerationSettings, handler: GenerationHandler) -> FastStream:
    """The worker process: one broker, the request subscriber, and the model closed on shutdown."""
    broker = broker_for(settings)
    add_worker(broker, handler, settings)
    app = FastStream(broker)
    app.after_shutdown(handler.model.aclose)
    return app
