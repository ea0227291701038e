"""PostgreSQL recorders that insert events with binary parameters.

The library's recorders send a batch as one array of a composite type in text form, escaping
every byte of every event's state with a regular expression: cheap for a few small events, a
few milliseconds for a batch, and tens of milliseconds for one large snapshot. These send the
columns as binary arrays instead. Tables, locking, NOTIFY and reading are the library's own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.utils import retry
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composed, Identifier

from ledger.event_store.internals import InsertRows, lock_and_notify


def _insert_statement(recorder: PostgresAggregateRecorder, *, returning: bool) -> Composed:
    statement = SQL(
        "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[])"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
        id_type=Identifier(recorder.datastore.originator_id_type),
    )
    return statement + SQL(" RETURNING notification_id") if returning else statement


def _columns(stored_events: Sequence[StoredEvent]) -> tuple[list[Any], list[int], list[str], list[bytes]]:
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


class ConcurrentDDL:
    """Table creation that tolerates another process creating the same tables at the same moment.

    On a fresh database every process of a deployment (API, projector, relay, consumers) creates
    the event store's types and tables as it starts. The library ignores a type that already
    exists, but two concurrent ``CREATE TYPE`` (or ``CREATE TABLE IF NOT EXISTS``) statements can
    still collide on the catalog (a duplicate key, a tuple updated concurrently, a deadlock, a
    relation that exists by the time it is created); by the next attempt the other process is done.
    """

    def create_table(self) -> None:
        for attempt in range(DDL_ATTEMPTS):
            try:
                super().create_table()  # type: ignore[misc]
                return
            except (IntegrityError, InternalError, OperationalError, ProgrammingError):
                # "duplicate key", "tuple concurrently updated", "deadlock detected", "relation already
                # exists": another process's DDL won this round
                if attempt == DDL_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))


DDL_ATTEMPTS = 5


class BinaryAggregateRecorder(InsertRows, ConcurrentDDL, PostgresAggregateRecorder):
    """Snapshots (and other aggregate events) inserted as binary column arrays."""

    def insert_rows(self, curs: Any, stored_events: Sequence[StoredEvent]) -> None:
        """Insert snapshots as binary column arrays."""
        curs.execute(_insert_statement(self, returning=False), _columns(stored_events), prepare=True)


class BinaryApplicationRecorder(InsertRows, ConcurrentDDL, PostgresApplicationRecorder):
    """Events inserted as binary column arrays, under the library's table lock and NOTIFY.

    The whole transaction (BEGIN, lock, NOTIFY, INSERT, COMMIT) goes to the server in one
    pipeline with one sync, so the table lock is held for the server's work only, not for a
    round trip to this process and back (which, on a busy machine, includes waiting for the GIL).
    """

    def insert_rows(self, curs: Any, stored_events: Sequence[StoredEvent]) -> None:
        """Insert events as binary column arrays, under the table lock, with a NOTIFY."""
        lock_and_notify(self, curs)
        curs.execute(_insert_statement(self, returning=True), _columns(stored_events), prepare=True)

    snapshots: BinaryAggregateRecorder | None = None  # set by the factory: snapshots ride in the events' transaction

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], *, snapshots: Sequence[StoredEvent] = (),
                      **kwargs: Any) -> Sequence[int] | None:
        """Insert events (and the snapshots taken at their versions) in one transaction; their positions."""
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline() as pipeline:
                    conn.execute("BEGIN")
                    with conn.cursor() as curs:
                        lock_and_notify(self, curs)
                    insert = conn.cursor()
                    insert.execute(_insert_statement(self, returning=True), _columns(stored_events), prepare=True)
                    if snapshots and self.snapshots is not None:
                        # One commit (one WAL flush) for both: a snapshot is at a version these events make.
                        conn.execute(_insert_statement(self.snapshots, returning=False), _columns(snapshots),
                                     prepare=True)
                    conn.execute("COMMIT")
                    pipeline.sync()
                return [int(row["notification_id"]) for row in insert.fetchall()]
            except BaseException:
                # A failed statement leaves the rest of the pipeline skipped and the
                # transaction aborted: end it before the connection goes back to the pool.
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.rollback()
                raise


class Factory(PostgresFactory):
    """The library's PostgreSQL infrastructure with binary inserts; an application's snapshots
    recorder is handed to its events recorder, which writes both in one transaction."""

    aggregate_recorder_class = BinaryAggregateRecorder
    application_recorder_class = BinaryApplicationRecorder
    _events: BinaryApplicationRecorder | None = None

    def application_recorder(self) -> ApplicationRecorder:
        """The events recorder (the snapshots recorder made after it is handed to it)."""
        recorder = super().application_recorder()
        assert isinstance(recorder, BinaryApplicationRecorder)
        self._events = recorder
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        """An aggregate recorder; the snapshots one is also handed to the events recorder."""
        recorder = super().aggregate_recorder(purpose)
        if purpose == "snapshots" and self._events is not None:
            assert isinstance(recorder, BinaryAggregateRecorder)
            self._events.snapshots = recorder
        return recorder
