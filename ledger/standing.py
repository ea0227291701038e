"""The Standing aggregate: whether a learner may share, counted from the takedowns upheld against their images.

Sharing is lost when the count since the last restoration reaches the policy's limit, and comes back only
when an operator restores it, saying why; both are events, so the audit shows who decided and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.names import IdKind, derived_id


def standing_id(user_id: str) -> UUID:
    """The id of ``user_id``'s standing."""
    return derived_id(IdKind.STANDING, user_id)


class Standing(Aggregate):
    """One learner's upheld takedowns since sharing was last restored, and whether they may share."""

    class StandingOpened(Aggregate.Created):
        user_id: str

    class TakedownUpheld(Aggregate.Event):
        generation_id: str
        upheld: int  # takedowns since sharing was last restored, this one included

        def apply(self, aggregate: Any) -> None:
            aggregate.upheld = self.upheld

    class SharingSuspended(Aggregate.Event):
        upheld: int
        limit: int

        def apply(self, aggregate: Any) -> None:
            aggregate.suspended = True

    class SharingRestored(Aggregate.Event):
        by: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.suspended = False
            aggregate.upheld = 0

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.upheld = 0
        self.suspended = False

    @classmethod
    def open(cls, *, user_id: str, at: datetime) -> Standing:
        """A learner's standing, in good order."""
        return cls._create(cls.StandingOpened, id=standing_id(user_id), user_id=user_id, timestamp=at)

    def uphold(self, *, generation_id: UUID, limit: int, at: datetime) -> None:
        """Count a takedown of one of the learner's images; suspend sharing when the count reaches ``limit``."""
        upheld = self.upheld + 1
        self.trigger_event(self.TakedownUpheld, generation_id=str(generation_id), upheld=upheld, timestamp=at)
        if upheld >= limit and not self.suspended:
            self.trigger_event(self.SharingSuspended, upheld=upheld, limit=limit, timestamp=at)

    def restore(self, *, by: str, reason: str, at: datetime) -> bool:
        """Give sharing back and start counting again; False when sharing was not suspended."""
        if not self.suspended:
            return False
        self.trigger_event(self.SharingRestored, by=by, reason=reason, timestamp=at)
        return True
