"""Where a tracked process records the ledger position it reached: a small table beside the events."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

TABLE = "studio_tracking"


class Positions(Protocol):
    """The last position each named process finished with; 0 if it never ran."""

    def get(self, name: str) -> int:
        """The recorded position of ``name``."""
        ...

    def put(self, name: str, position: int) -> None:
        """Record that ``name`` reached ``position`` (never moves a position back)."""
        ...


class MemoryPositions:
    """Positions of the in-memory store: kept only as long as the process lives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._positions: dict[str, int] = {}

    def get(self, name: str) -> int:
        """The recorded position of ``name``."""
        with self._lock:
            return self._positions.get(name, 0)

    def put(self, name: str, position: int) -> None:
        """Record that ``name`` reached ``position`` (never moves a position back)."""
        with self._lock:
            self._positions[name] = max(position, self._positions.get(name, 0))


class SQLitePositions:
    """Positions in the SQLite event store's own file."""

    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, position INTEGER NOT NULL)")

    def get(self, name: str) -> int:
        """The recorded position of ``name``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position FROM {TABLE} WHERE name = ?", (name,))  # noqa: S608 (constant name)
            row = c.fetchone()
        return 0 if row is None else int(row[0])

    def put(self, name: str, position: int) -> None:
        """Record that ``name`` reached ``position`` (never moves a position back)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {TABLE} (name, position) VALUES (?, ?) "  # noqa: S608 (constant name)
                "ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position)",
                (name, position),
            )


class PostgresPositions:
    """Positions in the PostgreSQL event store's schema."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        from psycopg.sql import SQL, Identifier

        self.datastore = recorder.datastore
        table = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(TABLE))
        self._select = SQL("SELECT position FROM {} WHERE name = %s").format(table)
        self._upsert = SQL(
            "INSERT INTO {0} (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = GREATEST({0}.position, excluded.position)"
        ).format(table)
        with self.datastore.transaction(commit=True) as c:
            c.execute(SQL("CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
                      .format(table))

    def get(self, name: str) -> int:
        """The recorded position of ``name``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._select, (name,))
            row = c.fetchone()
        return 0 if row is None else int(row["position"])

    def put(self, name: str, position: int) -> None:
        """Record that ``name`` reached ``position`` (never moves a position back)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._upsert, (name, position))


def positions_for(recorder: Any) -> Positions:
    """The position table that lives in the same store as ``recorder``'s events."""
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresPositions(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLitePositions(recorder)
    if isinstance(recorder, POPOApplicationRecorder):
        return MemoryPositions()
    raise TypeError(f"no position table for recorder {type(recorder).__name__}")
