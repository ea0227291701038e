"""A partner's ``occurred_at``: recorded as what the partner reports, bounded, never the ledger's clock.

The payment flow and the affiliate system stamp their messages with their own clocks, which may be
wrong (local time labelled ``Z``, a year typed wrong). The ledger's time is the service's clock: a
partner's time only goes on the events as ``reported_at``, and a message stamped further ahead than
the allowed skew, or older than the allowed age, is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.errors import RejectedMessage


@dataclass(frozen=True)
class OccurredBounds:
    """How far a partner's ``occurred_at`` may be from the service's clock: ahead, and behind."""

    max_skew: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=30)


DEFAULT_BOUNDS = OccurredBounds()


class OccurredAtRefused(RejectedMessage):
    """A message whose ``occurred_at`` is too far from the service's clock to be believed."""

    code = "implausible-occurred-at"
    field = "occurred_at"


class OccurredInFuture(OccurredAtRefused):
    """A message stamped further ahead of the service's clock than the allowed skew."""

    code = "occurred-in-future"


class OccurredLongAgo(OccurredAtRefused):
    """A message stamped longer ago than the allowed age."""

    code = "occurred-too-long-ago"


def reported_time(occurred_at: datetime | None, *, now: datetime, bounds: OccurredBounds, what: str) -> datetime | None:
    """``occurred_at`` if it is within ``bounds`` of ``now`` (None stays None); else refuse naming ``what``."""
    if occurred_at is None:
        return None
    # Compared as differences: ``now + max_skew`` could pass the last representable date.
    ahead = occurred_at - now
    if ahead > bounds.max_skew:
        raise OccurredInFuture(f"{what}: occurred_at {occurred_at.isoformat()} is {ahead} ahead of the service's "
                               f"clock ({now.isoformat()}); at most {bounds.max_skew} is allowed")
    if -ahead > bounds.max_age:
        raise OccurredLongAgo(f"{what}: occurred_at {occurred_at.isoformat()} is {-ahead} before the service's "
                              f"clock ({now.isoformat()}); at most {bounds.max_age} is allowed")
    return occurred_at
