"""The Erasure aggregate: a learner's erasure (their right to be forgotten), recorded once, with who asked for it.

The words themselves are not here: erasing is destroying the learner's key (``ledger.event_store.sealing``), after
which everything sealed under it reads as erased; this event tells the read tables to forget what they copied,
and the audit who erased whom and when. The money facts stay as they were.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.names import IdKind, derived_id
from ledger.unit import Unit


def erasure_id(user_id: str) -> UUID:
    """The id of ``user_id``'s erasure."""
    return derived_id(IdKind.ERASURE, user_id)


class Erasure(Aggregate):
    """One learner's erasure."""

    class LearnerErased(Aggregate.Created):
        user_id: str
        by: str  # the learner themselves, or the support staff's name

    def __init__(self, user_id: str, by: str) -> None:
        self.user_id = user_id
        self.by = by


def record_erasure(unit: Unit, user_id: str, *, by: str, at: datetime) -> bool:
    """Record that ``user_id`` is erased; False when they already were (the first record stands)."""
    found = unit.get(erasure_id(user_id), creating=True)
    if isinstance(found, Erasure):
        unit.repeat_of(found.id, found.version)
        return False
    unit.add(Erasure._create(Erasure.LearnerErased, id=erasure_id(user_id), user_id=user_id, by=by, timestamp=at))
    return True
