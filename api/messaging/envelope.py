"""The public envelope of a ledger event on Kafka: what the relay publishes, one JSON object per event."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from api.messaging.topics import EVENTS_TOPIC, GENERATION_REQUESTED_TOPIC
from ledger.event_ids import event_id_text
from ledger.store.follow import Stored
from service.recharges import AUTO_PURPOSE, PURPOSE

PUBLISHED_AGGREGATES = frozenset({"Wallet", "Generation"})  # Reference is internal bookkeeping
# The request's trace context goes in a header (``traceparent``), never in the payload: it is no fact of the ledger.
_ENVELOPE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "traceparent"})
TRACE_HEADER = "traceparent"


def is_published(stored: Stored) -> bool:
    """Whether the event belongs on Kafka (wallet and generation events do; internal ones do not)."""
    return type(stored.event).__qualname__.split(".", 1)[0] in PUBLISHED_AGGREGATES


def envelope(stored: Stored) -> dict[str, Any]:
    """The envelope of one stored event: ids, type, version, time, position and its fields."""
    event = stored.event
    cls = type(event)
    fields = vars(event)
    aggregate_id = str(fields["originator_id"])
    version = fields["originator_version"]
    return {
        "event_id": event_id_text(aggregate_id, version),
        "type": cls.__name__,
        "version": getattr(cls, "class_version", 1),
        "occurred_at": fields["timestamp"].isoformat(),
        "position": stored.position,
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "payload": {k: v for k, v in fields.items() if k not in _ENVELOPE_FIELDS},
    }


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
            requested_topic: str = GENERATION_REQUESTED_TOPIC, debits_topic: str | None = None) -> list[Record]:
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
    occurred_at = state.pop("timestamp")
    version = state.pop("class_version", 1)
    state.pop("originator_topic", None)
    trace = state.pop(TRACE_HEADER, "")
    aggregate_id = str(notification.originator_id)
    identifier = event_id_text(aggregate_id, notification.originator_version)
    # Ids, names and ISO times need no escaping: only the payload goes through the encoder.
    value = (f'{{"event_id":"{identifier}","type":"{name}","version":{int(version)},"occurred_at":"{occurred_at}",'
             f'"position":{int(notification.id)},"aggregate_id":"{aggregate_id}",'
             f'"aggregate_version":{int(notification.originator_version)},"payload":{_ENCODER.encode(state)}}}'
             ).encode()
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
