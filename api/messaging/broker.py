"""The Kafka clients of every entrypoint: the FastStream broker, the relay's producer, a group member's timing.

Every producer waits for all in-sync replicas and is idempotent where the broker supports it, so a
message the client saw acknowledged is not lost, and a retried send is not written twice.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypedDict

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from service.settings.messaging import MessagingSettings
from service.settings.parts import Compression

GENERATION_CLIENT_ID = "studio-generation"  # the generation worker's and the result consumer's client



class BrokerSettings(Protocol):
    """Where the broker is, whether it takes idempotent producers and how our producers compress (messaging and
    generation settings)."""

    kafka_bootstrap_servers: str
    kafka_idempotence: bool
    kafka_compression: Compression


def compression_type(settings: BrokerSettings) -> Literal["gzip", "snappy", "lz4", "zstd"] | None:
    """aiokafka's ``compression_type`` for ``STUDIO_KAFKA_COMPRESSION`` (None: batches go uncompressed)."""
    return None if settings.kafka_compression == "none" else settings.kafka_compression


def broker_for(settings: BrokerSettings, *, client_id: str | None = None) -> KafkaBroker:
    """A FastStream Kafka broker whose producer waits for every replica, is idempotent and compresses as set."""
    named: dict[str, Any] = {} if client_id is None else {"client_id": client_id}
    return KafkaBroker(settings.kafka_bootstrap_servers, acks="all", enable_idempotence=settings.kafka_idempotence,
                       compression_type=compression_type(settings), **named)


def producer_options(settings: MessagingSettings) -> dict[str, Any]:
    """The relay's aiokafka producer: every replica acknowledges, idempotent where supported, batched and
    compressed as set."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotence,
        "compression_type": compression_type(settings),
        "linger_ms": settings.kafka_linger_ms,
        "max_batch_size": settings.kafka_max_batch_bytes,
    }


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


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """Decode nothing (FastStream decoder): handlers validate the bytes themselves, so bad input is dead-lettered."""
    return message.body
