"""The read database's PostgreSQL pool: a connection that died while idle is replaced before use,
and a connection in steady use is not pinged on every checkout; a snapshot reads from one moment on both
databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from projections import db
from projections.db import make_engine, snapshot
from tests.conftest import PG

pytestmark = pytest.mark.integration
BACKEND = text("SELECT pg_backend_pid()")


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = make_engine(f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{pg_database}", pool_size=1)
    yield engine
    engine.dispose()


def backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(BACKEND).scalar_one())


def test_a_connection_that_died_while_idle_is_replaced_before_the_read(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    first = backend(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))

    assert backend(engine) != first  # no error reached the caller: the ping failed and the pool reconnected


def test_a_connection_in_steady_use_is_not_pinged(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or real_ping(connection))
    for _ in range(5):
        backend(engine)
    assert pings == []

    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    backend(engine)
    assert len(pings) == 1


@pytest.fixture(params=["sqlite", "postgres"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    else:
        engine = request.getfixturevalue("engine")
    yield engine
    engine.dispose()


def test_a_snapshot_sees_a_position_and_its_rows_from_one_moment(either: Engine) -> None:
    # A tracking position and the rows it vouches for, read while a rebuild empties the table and sets the
    # position back: without one snapshot the position came from before and the rows from halfway through.
    with either.begin() as conn:
        conn.execute(text("CREATE TABLE shown (n INTEGER)"))
        conn.execute(text("CREATE TABLE reached (position INTEGER)"))
        conn.execute(text("INSERT INTO shown VALUES (1), (2), (3)"))
        conn.execute(text("INSERT INTO reached VALUES (3)"))
    with snapshot(either) as reader:
        assert reader.execute(text("SELECT position FROM reached")).scalar_one() == 3
        with either.begin() as rebuild:
            rebuild.execute(text("DELETE FROM shown"))
            rebuild.execute(text("UPDATE reached SET position = 0"))
        assert reader.execute(text("SELECT count(*) FROM shown")).scalar_one() == 3
    with snapshot(either) as later:
        assert later.execute(text("SELECT count(*) FROM shown")).scalar_one() == 0
