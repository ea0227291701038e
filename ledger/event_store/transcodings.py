"""JSON transcodings for the ledger's value types, used in events and snapshots."""

from __future__ import annotations

import dataclasses
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from ledger.values import Grant, Hold, Money


class DataclassAsDict(Transcoding):
    """Stores a dataclass as the dict of its fields."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__name__.lower()

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def register(transcoder: JSONTranscoder) -> None:
    """Register the ledger's value types with an application's transcoder."""
    for cls in (Money, Grant, Hold):
        transcoder.register(DataclassAsDict(cls))
