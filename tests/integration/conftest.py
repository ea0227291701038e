"""The fixtures the integration tests share: a ledger on each store, and read tables beside it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger import Ledger
from projections.db import make_engine
from tests.conftest import PG


@pytest.fixture
def read_engine(store_env: dict[str, str], tmp_path: Any) -> Iterator[Engine]:
    """Read tables beside the event store: a SQLite file, or a fresh schema in the PostgreSQL database."""
    if store_env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    else:
        schema = f"r_{uuid.uuid4().hex[:10]}"
        url = (f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{store_env['POSTGRES_DBNAME']}"
               f"?options=-csearch_path%3D{schema}")
        engine = make_engine(url, pool_size=2)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield engine
    engine.dispose()


@pytest.fixture
def app(store_env: dict[str, str]) -> Iterator[Ledger]:
    """A ledger on each store."""
    ledger = Ledger(store_env)
    yield ledger
    ledger.close()
