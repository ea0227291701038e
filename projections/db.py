"""The read database: engines for SQLite or PostgreSQL, a UTC time column and the tracking table."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateColumn
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

tracking = Table(
    "projection_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime (same on every database)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"time {value} has no time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def create_tables(engine: Engine, target: MetaData, tables: Sequence[Table] | None = None, *,
                  attempts: int = 5) -> None:
    """Create the tables that do not exist yet; other processes creating them at the same time is fine."""
    for attempt in range(attempts):
        try:
            target.create_all(engine, tables=tables)
            add_missing_columns(engine, tables if tables is not None else list(target.tables.values()))
            return
        except DBAPIError:  # lost a race with another process's CREATE TABLE: try again, it may be done
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def add_missing_columns(engine: Engine, tables: Sequence[Table]) -> None:
    """Add the columns a table has gained since it was created (each with a server default or nullable):
    an older read database keeps working; its earlier rows get the default until a rebuild."""
    inspector = inspect(engine)
    for table in tables:
        have = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
        missing = [c for c in table.columns if c.name not in have]
        if not missing:
            continue
        with engine.begin() as conn:
            name = engine.dialect.identifier_preparer.format_table(table)
            for column in missing:
                definition = CreateColumn(column).compile(dialect=engine.dialect)
                conn.execute(text(f"ALTER TABLE {name} ADD COLUMN {definition}"))


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see the read database as of one moment: a tracking position and the rows
    it vouches for, never the position from before a rebuild with the rows from halfway through it. PostgreSQL:
    one REPEATABLE READ transaction; SQLite: one read transaction (WAL keeps its snapshot), which the driver
    would not begin for a SELECT by itself."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")  # in place, before the first read
        yield conn


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for the read database: SQLite in WAL mode with a busy timeout, or PostgreSQL (psycopg 3)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Commits here do not wait for the WAL flush. Everything in the read database can be made again
    # from the ledger: a projection's rows and its tracking row commit together, so a server crash
    # can only take both back to an earlier position, from which the projector applies the events
    # again; a lost idempotency record only means a repeated request runs its command again, which
    # the ledger answers with the first outcome (its commands are idempotent by the same key).
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2)
    event.listen(engine, "connect", _postgres_settings)
    event.listen(engine, "checkin", _idle_from_now)
    event.listen(engine, "checkout", lambda connection, record, _proxy: _ping_if_idle(engine, connection, record))
    return engine


# A pooled connection is pinged before use only once it has sat idle this long. A ping on every
# checkout (``pool_pre_ping``) is a round trip per read, several per command. A connection that
# dies while in use is caught by SQLAlchemy's disconnect handling, which empties the pool.
PING_AFTER_IDLE_S = 5.0


def _idle_from_now(_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine, connection: Any, record: Any) -> None:
    since = record.info.pop("idle_since", None)
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
        return
    try:
        engine.dialect.do_ping(connection)
    except Exception as error:  # whatever failed, the pool drops this connection and checks out another
        raise DisconnectionError(f"a pooled connection idle for {time.monotonic() - since:.0f} s failed its "
                                 f"ping: {error}") from error


def _postgres_settings(connection: Any, _record: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    connection.commit()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
