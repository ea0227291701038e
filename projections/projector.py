"""The projector: follows the ledger and applies each page of events to every projection, exactly once.

Each projection's tracking row (the last position it applied) is written in the same SQL transaction
as its rows, so a crash anywhere before the commit leaves both untouched and the page is applied
again on restart; after the commit neither is applied twice. An event a projection cannot apply is
set aside for that projection alone, recorded with its reason in the same transaction that moves its
tracking row past it (``projections.failures``), so that one event never stops the read side.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
import sqlalchemy.exc
from sqlalchemy import Connection, bindparam, delete, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ledger.event_store.follow import Follower, Stored
from projections.base import Projection
from projections.db import create_tables, metadata, tracking
from projections.failures import forget_failures, projection_failures, record_failure

log = logging.getLogger(__name__)
# Built once: a statement made per page costs more to build and to key for the cache than to run.
MOVE_TRACKING = update(tracking).where(
    tracking.c.name.in_(bindparam("which", expanding=True)) & (tracking.c.position == bindparam("reached"))
).values(position=bindparam("last"))
ANNOUNCE = text("SELECT pg_notify(:channel, :position)")
# Failures of the read database's connection, not of an event: the page is tried again, never set aside.
TRANSIENT: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError, psycopg.OperationalError, psycopg.InterfaceError, OSError,
)


class Projector:
    """Runs a set of projections over the ledger's notification log."""

    def __init__(self, app: Any, engine: Engine, projections: Sequence[Projection], *,
                 page_size: int = 500, poll_interval: float = 0.02) -> None:
        self.app = app
        self.engine = engine
        self.projections = {p.name: p for p in projections}
        self.page_size = page_size
        self.poll_interval = poll_interval
        self.positions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._follower: Follower | None = None
        self._reading: Follower | None = None  # the follower reading now, catching up or following
        self._started = time.monotonic()
        self._stopping = threading.Event()
        self._listeners: list[Callable[[int], object]] = []
        self.channel: str | None = None  # PostgreSQL: where each commit announces the position reached

    def on_advance(self, listener: Callable[[int], object]) -> None:
        """Call ``listener(position)`` (on the projector's thread) each time the projections advance."""
        self._listeners.append(listener)

    def setup(self) -> None:
        """Create the tables of every projection and its tracking row; read the positions reached."""
        create_tables(self.engine, metadata, [tracking, projection_failures,
                                              *(t for p in self.projections.values() for t in p.tables)])
        self.channel = notify_channel(self.engine)
        try:
            self.positions = self._tracking_rows()
        except IntegrityError:  # another process added the same rows first
            self.positions = self._tracking_rows()

    def _tracking_rows(self) -> dict[str, int]:
        with self.engine.begin() as conn:
            known = {str(n): int(p) for n, p in conn.execute(select(tracking.c.name, tracking.c.position))}
            for name in self.projections:
                if name not in known:
                    conn.execute(tracking.insert().values(name=name, position=0))
                    known[name] = 0
        return {name: known[name] for name in self.projections}

    @property
    def position(self) -> int:
        """The position every projection has reached."""
        return min(self.positions.values(), default=0)

    @property
    def turned(self) -> float:
        """When the projector last read the log (``time.monotonic()``): its liveness."""
        return self._reading.turned if self._reading is not None else self._started

    @property
    def lag(self) -> int:
        """How many positions the slowest projection is behind the head of the log (an upper bound)."""
        return max(0, (self.app.recorder.max_notification_id() or 0) - self.position)

    def catch_up(self, progress: Callable[[int], object] | None = None) -> int:
        """Apply every event stored so far; returns how many events were read."""
        follower = Follower(self.app, after=self.position, page_size=self.page_size)
        self._reading = follower
        count = 0
        while page := follower.read():
            self.apply(page)
            count += len(page)
            if progress is not None:
                progress(len(page))
        return count

    def run(self) -> None:
        """Follow the log and apply pages as they are stored, until ``stop()``."""
        self._stopping.clear()
        while not self._stopping.is_set():
            try:
                self.catch_up()
                self._follower = self._reading = Follower(self.app, after=self.position, page_size=self.page_size,
                                                          poll_interval=self.poll_interval)
                if self._stopping.is_set():
                    return
                for page in self._follower.pages():
                    self.apply(page)
            except ConcurrentProjector as error:
                log.warning("%s; reading the positions again", error)
                self.setup()
                self._advanced()  # where the other projector took them: readers waiting here may be done

    def stop(self) -> None:
        """Stop following after the current page."""
        self._stopping.set()
        if self._follower is not None:
            self._follower.stop()

    def apply(self, page: Sequence[Stored]) -> None:
        """Apply one page to every projection behind it, each with its tracking row, in one transaction;
        if that fails for a reason other than the read database's connection, apply it event by event
        and set aside, for the projection that cannot apply it, each event that fails."""
        if not page:
            return
        try:
            self._commit(page, self.projections)
        except Exception as error:
            if not cannot_apply(error):
                raise
            for stored in page:  # an event of the page cannot be applied: find which, one event at a time
                self._apply_alone(stored)
        self._advanced()

    def _commit(self, page: Sequence[Stored], names: Iterable[str]) -> None:
        last = page[-1].position
        behind = {name: self.positions[name] for name in names if self.positions[name] < last}
        if not behind:
            return
        with self.engine.begin() as conn:
            # Move the tracking rows first: on PostgreSQL that locks them, so a second projector waits
            # here and then finds them moved, before it has written anything.
            self._track(conn, behind, last)
            writes = [write for name, reached in behind.items()
                      for write in self.projections[name].writes(conn, [s for s in page if s.position > reached])]
            writes += self._announcement(behind, last)
            with pipelined(conn):
                for statement, parameters in writes:
                    conn.execute(statement, parameters)
        self._moved(behind, last)

    def _apply_alone(self, stored: Stored) -> None:
        try:
            self._commit([stored], self.projections)
            return
        except Exception as error:
            if not cannot_apply(error):
                raise
        for name in self.projections:  # some projection cannot apply it: try each one on its own
            try:
                self._commit([stored], [name])
            except Exception as error:
                if not cannot_apply(error):
                    raise
                self._set_aside(name, stored, error)  # it can never apply here: set it aside, loudly

    def _set_aside(self, name: str, stored: Stored, error: Exception) -> None:
        reached = self.positions[name]
        with self.engine.begin() as conn:
            self._track(conn, {name: reached}, stored.position)
            found = record_failure(conn, name, stored, error, datetime.now(UTC))
            for statement, parameters in self._announcement({name: reached}, stored.position):
                conn.execute(statement, parameters)
        self._moved({name: reached}, stored.position)
        log.error("projection %s cannot apply position %d (%s, aggregate %s): %s; set aside, listed by "
                  "`studio-ledger projections failures`", name, stored.position, stored.type, found.aggregate_id,
                  found.reason, exc_info=error)

    def _announcement(self, behind: dict[str, int], last: int) -> list[tuple[Any, Any]]:
        if self.channel is None:
            return []
        # Delivered to listeners when (and only if) the transaction commits.
        reached_all = min(max(p, last) if name in behind else p for name, p in self.positions.items())
        return [(ANNOUNCE, {"channel": self.channel, "position": str(reached_all)})]

    def _moved(self, behind: dict[str, int], last: int) -> None:
        with self._changed:
            for name in behind:
                self.positions[name] = max(self.positions[name], last)

    def _advanced(self) -> None:
        with self._changed:
            self._changed.notify_all()
        for listener in self._listeners:
            listener(self.position)

    def wait(self, position: int, timeout: float) -> bool:
        """Wait until every projection has reached ``position``, at most ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.position >= position, timeout)

    def rebuild(self, names: Sequence[str] = (), progress: Callable[[int], object] | None = None) -> int:
        """Empty the named projections (all by default) and apply the whole log to them again."""
        chosen = list(names) or list(self.projections)
        unknown = [n for n in chosen if n not in self.projections]
        if unknown:
            raise LookupError(f"unknown projection(s) {unknown}; known: {sorted(self.projections)}")
        with self.engine.begin() as conn:
            for name in chosen:
                for table in reversed(self.projections[name].tables):
                    conn.execute(delete(table))
                forget_failures(conn, name)
                conn.execute(update(tracking).where(tracking.c.name == name).values(position=0))
                self.positions[name] = 0
        return self.catch_up(progress)

    def _track(self, conn: Connection, behind: dict[str, int], last: int) -> None:
        # Compare-and-set: a second projector on the same tables makes an update miss, and all roll back.
        # Projections that reached the same position (all of them, but after a rebuild) move in one statement.
        by_reached: dict[int, list[str]] = {}
        for name, reached in behind.items():
            by_reached.setdefault(reached, []).append(name)
        for reached, names in by_reached.items():
            done = conn.execute(MOVE_TRACKING, {"which": names, "reached": reached, "last": last})
            if done.rowcount != len(names):
                raise ConcurrentProjector(f"projections {names} were moved by another projector")


def cannot_apply(error: Exception) -> bool:
    """Whether ``error`` says an event cannot be applied, rather than that the read database's connection
    failed or another projector moved the tracking rows (both of which are worth trying again)."""
    return not isinstance(error, (ConcurrentProjector, *TRANSIENT))


def pipelined(conn: Connection) -> contextlib.AbstractContextManager[Any]:
    """On PostgreSQL, send the statements run inside to the server without waiting for each one's
    answer (psycopg's pipeline mode): a page's writes cost one round trip, not one each. Only
    writes belong inside, since their results are not read; an error in any of them is raised on
    leaving, and the transaction rolls back. Elsewhere the statements simply run one by one."""
    if conn.dialect.name != "postgresql":
        return contextlib.nullcontext()
    driver: Any = conn.connection.driver_connection
    return cast(contextlib.AbstractContextManager[Any], driver.pipeline())


def notify_channel(engine: Engine) -> str | None:
    """The PostgreSQL channel on which projectors of this read database announce their progress
    (one per schema, so that read databases sharing a server do not hear each other); None elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
    return f"studio_projected_{schema}"[:63]


class ConcurrentProjector(RuntimeError):
    """Another projector advanced the same projection: this one must stop and restart from the table."""
