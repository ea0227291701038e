"""The pipeline's messages: a generation request in, a completed or failed result out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledger.event_ids import event_id_text
from media.costs import ProviderCost

# The stored event's own bookkeeping: in the envelope's header fields, never in its payload.
# The trace context travels as a header (``traceparent``), never in the payload: it is no fact of the ledger.
_HEADER_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "class_version",
                            "traceparent"})


def event_envelope(*, event_type: str, version: int, occurred_at: str, position: int, aggregate_id: str,
                   aggregate_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The one shape of a ledger event as a message: ids, type, version, time, position and its fields."""
    return {
        "event_id": event_id_text(aggregate_id, aggregate_version),
        "type": event_type,
        "version": version,
        "occurred_at": occurred_at,
        "position": position,
        "aggregate_id": aggregate_id,
        "aggregate_version": aggregate_version,
        "payload": payload,
    }


def event_message(event: Any, *, position: int) -> dict[str, Any]:
    """The envelope of a domain event stored at ``position`` (the relay's, and the in-process requests')."""
    cls = type(event)
    fields = vars(event)
    return event_envelope(
        event_type=cls.__name__, version=getattr(cls, "class_version", 1),
        occurred_at=fields["timestamp"].isoformat(), position=position,
        aggregate_id=str(fields["originator_id"]), aggregate_version=fields["originator_version"],
        payload={k: v for k, v in fields.items() if k not in _HEADER_FIELDS},
    )


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestedPayload(_Message):
    """The fields of ``GenerationRequested`` the worker needs."""

    user_id: str = Field(min_length=1)
    template_id: str = Field(min_length=1)
    template_version: int = Field(ge=1)
    variables: dict[str, Any]
    input_image: str | None = None
    cost: int = Field(gt=0)
    hold_id: str = Field(min_length=1)
    expires_at: datetime


class GenerationRequestedMessage(_Message):
    """The ledger's ``GenerationRequested`` envelope, as the relay publishes it."""

    event_id: UUID
    type: Literal["GenerationRequested"]
    version: int = 1
    occurred_at: datetime
    position: int = Field(ge=0)
    aggregate_id: UUID
    payload: RequestedPayload

    @property
    def generation_id(self) -> UUID:
        """The generation this request is for."""
        return self.aggregate_id


class GenerationCompletedMessage(_Message):
    """A stored image for a generation (published on ``generation.completed``)."""

    type: Literal["GenerationCompleted"] = "GenerationCompleted"
    generation_id: UUID
    request_event_id: UUID
    image_url: str = Field(min_length=1)
    storage_id: str = Field(min_length=1)
    thumbnail_url: str = ""
    provider: str
    model: str
    seed: int | None = None
    timings: dict[str, float] = {}
    finished_at: datetime
    provider_cost: ProviderCost | None = None  # None from a worker that did not say (unknown, not free)


class GenerationFailedMessage(_Message):
    """No image will come for a generation (published on ``generation.failed``)."""

    type: Literal["GenerationFailed"] = "GenerationFailed"
    generation_id: UUID
    request_event_id: UUID
    reason: str = Field(min_length=1)
    retryable: bool
    detail: str = ""
    finished_at: datetime
    provider_cost: ProviderCost | None = None  # None from a worker that did not say (unknown, not free)


GenerationResult = GenerationCompletedMessage | GenerationFailedMessage
