"""The public envelope of a ledger event on Kafka: what the relay publishes, one JSON object per event."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from api.messaging.topics import EVENTS_TOPIC, GENERATION_REQUESTED_TOPIC
from ledger.event_ids import event_id_text
from ledger.event_store.follow import Stored
from media.messages import event_envelope, event_message
from service.recharges import AUTO_PURPOSE, PURPOSE

PUBLISHED_AGGREGATES = frozenset({"Wallet", "Generation"})  # Reference is internal bookkeeping
# The request's trace context goes in a header (``traceparent``), never in the payload: it is no fact of the ledger.
TRACE_HEADER = "traceparent"


def is_published(stored: Stored) -> bool:
    """Whether the event belongs on Kafka (wallet and generation events do; internal ones do not)."""
    return type(stored.event).__qualname__.split(".", 1)[0] in PUBLISHED_AGGREGATES


def envelope(stored: Stored) -> dict[str, Any]:
    """The envelope of one stored event: ids, type, version, time, position and its fields."""
    return event_message(stored.event, position=stored.position)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot publish a value of type {type(value).__name__}")


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_plain)


def encode(data: dict[str, Any]) -> bytes:
    """Compact JSON bytes: UUIDs as text, datetimes in ISO 8601, dataclasses (Money) as objects."""
    return _ENCODER.encode(data).encode()


def _plain_value(encoded: dict[str, Any]) -> Any:
    # The store's JSON marks values of other types as {"_type_": ..., "_data_": ...}: publish them plain.
    if len(encoded) != 2 or "_type_" not in encoded or "_data_" not in encoded:
        return encoded
    data = encoded["_data_"]
    return str(UUID(hex=data)) if encoded["_type_"] == "uuid_hex" else data


Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
_DECODER = json.JSONDecoder(object_hook=_plain_value)


def records(notification: Notification, events_topic: str = EVENTS_TOPIC,
            requested_topic: str = GENERATION_REQUESTED_TOPIC, debits_topic: str | None = None,
            opened: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> list[Record]:
    """(topic, key, value, headers) for every topic a stored event goes to; none for internal events.
    With ``debits_topic`` (the platform's wallet over Kafka), a recharge's request is asked there.

    Built from the stored JSON without rebuilding the domain event (the relay's hot path); the
    value equals ``encode(envelope(...))`` of the decoded event.
    """
    aggregate, _, name = notification.topic.partition(":")[2].rpartition(".")
    if aggregate == "Recharge" and name == "RechargeRequested" and debits_topic:
        return [debit_requested(notification, debits_topic)]
    if aggregate not in PUBLISHED_AGGREGATES:
        return []
    state = _DECODER.decode(notification.state.decode())
    if opened is not None:  # the learner's words, sealed at rest, are published as the workers need them
        state = opened(notification.topic, state)
    occurred_at = state.pop("timestamp")
    version = state.pop("class_version", 1)
    state.pop("originator_topic", None)
    trace = state.pop(TRACE_HEADER, "")
    aggregate_id = str(notification.originator_id)
    message = event_envelope(event_type=name, version=int(version), occurred_at=occurred_at,
                             position=int(notification.id), aggregate_id=aggregate_id,
                             aggregate_version=int(notification.originator_version), payload=state)
    value = _ENCODER.encode(message).encode()
    identifier = message["event_id"]
    key = aggregate_id.encode()
    headers = [("event_id", identifier.encode()), ("type", name.encode())]
    if trace:
        headers.append((TRACE_HEADER, trace.encode()))
    found = [(events_topic, key, value, headers)]
    if name == "GenerationRequested":
        found.append((requested_topic, key, value, headers))
    return found


def debit_requested(notification: Notification, topic: str) -> Record:
    """The ``WalletDebitRequested`` message asking the platform for a recharge's debit, keyed by its debit id
    (the recharge's id: the same on every delivery, so the platform takes the money once)."""
    state = _DECODER.decode(notification.state.decode())
    debit_id = str(notification.originator_id)
    purpose = PURPOSE if state.get("purpose", "recharge") == "recharge" else AUTO_PURPOSE
    value = encode({"type": "WalletDebitRequested", "version": 1, "debit_id": debit_id, "user_id": state["user_id"],
                    "amount_minor": state["value"]["minor"], "currency": state["value"]["currency"],
                    "purpose": purpose, "occurred_at": state["timestamp"], "deadline": state["deadline"]})
    headers = [("event_id", event_id_text(debit_id, notification.originator_version).encode()),
               ("type", b"WalletDebitRequested")]
    return topic, debit_id.encode(), value, headers
