"""Units of work: a command runs against loaded aggregates and its events are saved together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


class StaleRead(Exception):
    """The unit read aggregates from different moments (another writer committed in between):
    run it again on fresh state."""


@dataclass(frozen=True)
class Outcome:
    """What a command did: the ledger position of its last event, and its result."""

    position: int
    value: Any = None
    repeated: bool = False


@dataclass
class Unit:
    """The aggregates one command reads and changes, and the events it adds to them."""

    load: Callable[[UUID], Aggregate | None]
    # For ids the command creates when they are absent: may answer None without asking the store.
    # A None that is out of date is caught by the store's unique key when the unit is saved; ids
    # answered so are kept in ``assumed_new``, so that a rejection based on them can be checked.
    load_new: Callable[[UUID], Aggregate | None] | None = None
    assumed_new: list[UUID] = field(default_factory=list)
    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    start: dict[UUID, int] = field(default_factory=dict)
    anchors: list[tuple[UUID, int]] = field(default_factory=list)

    def get(self, aggregate_id: UUID, *, creating: bool = False) -> Aggregate | None:
        """The aggregate with this id, or None when it does not exist yet. ``creating``: the command
        creates the aggregate when it gets None, so a None that is out of date is caught by the save."""
        if aggregate_id in self.aggregates:
            return self.aggregates[aggregate_id]
        if creating and self.load_new is not None:
            aggregate = self.load_new(aggregate_id)
            if aggregate is None:
                self.assumed_new.append(aggregate_id)
        else:
            aggregate = self.load(aggregate_id)
        if aggregate is not None:
            self._track(aggregate)
        return aggregate

    def add(self, aggregate: Aggregate) -> Aggregate:
        """Add an aggregate the command created."""
        self._track(aggregate, start=0)
        return aggregate

    def repeat_of(self, aggregate_id: UUID, version: int) -> None:
        """Mark the command as a repeat of one whose events include this one (the last of
        each aggregate it changed): its position is the highest of them."""
        if version > 0:
            self.anchors.append((aggregate_id, version))

    def new_events(self) -> list[Any]:
        """The events this command added, in order."""
        return [e for agg_id, agg in self.aggregates.items() for e in agg.pending_events[self.start[agg_id]:]]

    def changed(self) -> bool:
        """Whether any aggregate this command touched has new pending events."""
        return any(len(agg.pending_events) != self.start[i] for i, agg in self.aggregates.items())

    def _track(self, aggregate: Aggregate, start: int | None = None) -> None:
        self.aggregates[aggregate.id] = aggregate
        self.start[aggregate.id] = len(aggregate.pending_events) if start is None else start


def last_position(events: Iterable[Any], positions: dict[int, int]) -> int | None:
    """The highest notification id recorded for any of ``events`` (keyed by object id)."""
    found = [positions[id(e)] for e in events if id(e) in positions]
    return max(found) if found else None
