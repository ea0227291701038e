"""Events a projection could not apply: set aside, recorded, and shown until an operator resolves them.

An event is in the ledger for ever. If a projection cannot apply one (a value its columns cannot hold,
a bug in the projection), stopping there would stop every read that waits for the projections, for
every user, and a restart would stop at the same event again. So the projector records the event
here, in the same transaction that moves that projection's tracking row past it, and goes on; the
other projections apply it as usual. The record is what makes it loud: a log line with the position
and the reason, the ``studio_projection_failures`` gauge, ``/readyz``'s ``projection_failures``, the
audit's findings and ``studio-ledger projections failures``. Rebuilding the projection
(``studio-ledger projections rebuild NAME``, after the fix) clears its records and applies the whole
log again; an event that still cannot apply is set aside again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, Connection, String, Table, delete, func, select

from ledger.event_store.follow import Stored
from projections.db import UTCDateTime, metadata

REASON_LENGTH = 2000

projection_failures = Table(
    "projection_failures",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_type", String(200), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("reason", String(REASON_LENGTH), nullable=False),
    Column("failed_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class SetAside:
    """One event a projection could not apply."""

    projection: str
    position: int
    event_type: str
    aggregate_id: str
    reason: str
    failed_at: datetime

    def __str__(self) -> str:
        return f"{self.projection} set aside position {self.position} ({self.event_type}): {self.reason}"


def reason_of(error: BaseException) -> str:
    """What went wrong, in one line: the error's type and message, cut to fit the column."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text[:REASON_LENGTH]


def record_failure(conn: Connection, projection: str, stored: Stored, error: BaseException, at: datetime) -> SetAside:
    """Record, inside the caller's transaction, that ``projection`` set ``stored`` aside because of ``error``."""
    found = SetAside(projection=projection, position=stored.position, event_type=stored.type,
                     aggregate_id=str(getattr(stored.event, "originator_id", "")), reason=reason_of(error),
                     failed_at=at)
    conn.execute(projection_failures.insert().values(
        projection=found.projection, position=found.position, event_type=found.event_type,
        aggregate_id=found.aggregate_id, reason=found.reason, failed_at=found.failed_at))
    return found


def failures(conn: Connection, projections: Sequence[str] = ()) -> list[SetAside]:
    """The events set aside (by ``projections``, or by any), in log order."""
    query = select(projection_failures).order_by(projection_failures.c.position, projection_failures.c.projection)
    if projections:
        query = query.where(projection_failures.c.projection.in_(list(projections)))
    return [SetAside(**row) for row in conn.execute(query).mappings()]


def failure_counts(conn: Connection) -> dict[str, int]:
    """How many events each projection has set aside (projections with none are absent)."""
    query = select(projection_failures.c.projection, func.count()).group_by(projection_failures.c.projection)
    return {str(name): int(n) for name, n in conn.execute(query)}


def forget_failures(conn: Connection, projection: str) -> None:
    """Drop the records of ``projection`` (it is being rebuilt from the whole log)."""
    conn.execute(delete(projection_failures).where(projection_failures.c.projection == projection))
