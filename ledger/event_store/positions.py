"""Finding the ledger position (notification id) of an event already stored.

The PostgreSQL store's classes (and with them its driver) are imported only when the recorder is
not one of the others: a ledger in memory or in SQLite never loads psycopg.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.event_store.internals import memory_index


def position_of(recorder: Any, originator_id: UUID, version: int) -> int | None:
    """The notification id of event ``version`` of ``originator_id``, or None if not stored."""
    if isinstance(recorder, POPOApplicationRecorder):
        with memory_index(recorder) as stored:
            index = stored.get(str(originator_id), {}).get(version)
        return None if index is None else index + 1
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {recorder.events_table_name} "  # noqa: S608 (the library's own table name)
                "WHERE originator_id = ? AND originator_version = ?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
        return None if row is None else int(row[0])
    from eventsourcing.postgres import PostgresApplicationRecorder

    if isinstance(recorder, PostgresApplicationRecorder):
        from psycopg.sql import SQL, Identifier

        statement = SQL(
            "SELECT notification_id FROM {}.{} WHERE originator_id = %s AND originator_version = %s"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (originator_id, version))
            found = curs.fetchone()
        return None if found is None else int(found["notification_id"])
    raise TypeError(f"no position lookup for recorder {type(recorder).__name__}")


def versions_of(recorder: Any, ids: list[UUID]) -> dict[UUID, int]:
    """The stored version (last event) of each of ``ids`` that has events, in one query."""
    if not ids:
        return {}
    if isinstance(recorder, SQLiteApplicationRecorder):
        marks = ",".join("?" * len(ids))
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_id, max(originator_version) FROM {recorder.events_table_name} "  # noqa: S608
                f"WHERE originator_id IN ({marks}) GROUP BY originator_id",
                [i.hex for i in ids],
            )
            return {UUID(row[0]): int(row[1]) for row in c.fetchall()}
    if isinstance(recorder, POPOApplicationRecorder):
        with memory_index(recorder) as index:
            return {i: max(index[str(i)]) for i in ids if index.get(str(i))}
    from eventsourcing.postgres import PostgresApplicationRecorder

    if isinstance(recorder, PostgresApplicationRecorder):
        from psycopg.sql import SQL, Identifier

        statement = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {}.{} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn:  # autocommit: one round trip, no BEGIN
            rows = conn.execute(statement, (ids,), prepare=True).fetchall()
        return {row["originator_id"]: int(row["version"]) for row in rows}
    raise TypeError(f"no version lookup for recorder {type(recorder).__name__}")
