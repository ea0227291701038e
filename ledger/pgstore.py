"""PostgreSQL recorders that insert events with binary parameters.

The library's recorders send a batch as one array of a composite type in text form, escaping
every byte of every event's state with a regular expression: cheap for a few small events, a
few milliseconds for a batch, and tens of milliseconds for one large snapshot. These send the
columns as binary arrays instead. Tables, locking, NOTIFY and reading are the library's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from psycopg.sql import SQL, Composed, Identifier


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


class BinaryAggregateRecorder(PostgresAggregateRecorder):
    """Snapshots (and other aggregate events) inserted as binary column arrays."""

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        curs.execute(_insert_statement(self, returning=False), _columns(stored_events), prepare=True)


class BinaryApplicationRecorder(PostgresApplicationRecorder):
    """Events inserted as binary column arrays, under the library's table lock and NOTIFY."""

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(_insert_statement(self, returning=True), _columns(stored_events), prepare=True)


class Factory(PostgresFactory):
    """The library's PostgreSQL infrastructure with binary inserts."""

    aggregate_recorder_class = BinaryAggregateRecorder
    application_recorder_class = BinaryApplicationRecorder
