"""The read database's PostgreSQL pool: a connection that died while idle is replaced before use,
and a connection in steady use is not pinged on every checkout."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from projections import db
from projections.db import make_engine
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
