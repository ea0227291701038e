"""The public envelope of a ledger event on Kafka: what the relay publishes, one JSON object per event."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.follow import Stored

EVENTS_TOPIC = "ledger.events"
GENERATION_REQUESTED_TOPIC = "generation.requested"
PUBLISHED_AGGREGATES = frozenset({"Wallet", "Generation"})  # Reference is internal bookkeeping
EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://studio-ledger/events")
_ENVELOPE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def is_published(stored: Stored) -> bool:
    """Whether the event belongs on Kafka (wallet and generation events do; internal ones do not)."""
    return type(stored.event).__qualname__.split(".", 1)[0] in PUBLISHED_AGGREGATES


def event_id(originator_id: UUID, version: int) -> UUID:
    """The deterministic id of an event: the same on every publication, so consumers can deduplicate."""
    return uuid5(EVENT_NAMESPACE, f"{originator_id}:{version}")


def envelope(stored: Stored) -> dict[str, Any]:
    """The envelope of one stored event: ids, type, version, time, position and its fields."""
    event = stored.event
    return {
        "event_id": str(event_id(event.originator_id, event.originator_version)),
        "type": stored.type,
        "version": getattr(type(event), "class_version", 1),
        "occurred_at": event.timestamp.isoformat(),
        "position": stored.position,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "payload": {k: v for k, v in vars(event).items() if k not in _ENVELOPE_FIELDS},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot publish a value of type {type(value).__name__}")


def encode(data: dict[str, Any]) -> bytes:
    """Compact JSON bytes: UUIDs as text, datetimes in ISO 8601, dataclasses (Money) as objects."""
    return json.dumps(data, separators=(",", ":"), default=_plain).encode()


def records(stored: Stored, events_topic: str = EVENTS_TOPIC, requested_topic: str = GENERATION_REQUESTED_TOPIC,
            ) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """(topic, key, value, headers) for every topic the event goes to; none for internal events."""
    if not is_published(stored):
        return []
    data = envelope(stored)
    key = data["aggregate_id"].encode()
    value = encode(data)
    headers = [("event_id", data["event_id"].encode()), ("type", data["type"].encode())]
    found = [(events_topic, key, value, headers)]
    if data["type"] == "GenerationRequested":
        found.append((requested_topic, key, value, headers))
    return found
