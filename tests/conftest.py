"""Shared fixtures: one PostgreSQL database per test session, and a ledger per store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ledger import Ledger

pytest_plugins = ["tests.support.kafka_broker"]

PG = {
    "host": os.environ.get("STUDIO_TEST_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("STUDIO_TEST_PG_PORT", "5432"),
    "user": os.environ.get("STUDIO_TEST_PG_USER", "postgres"),
    "password": os.environ.get("STUDIO_TEST_PG_PASSWORD", ""),
}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dbname="postgres", autocommit=True, **PG)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database made for this test session and dropped after it."""
    name = f"studio_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_env(pg_database: str) -> dict[str, str]:
    """Event-store settings for a fresh schema in the session's PostgreSQL database."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dbname=pg_database, autocommit=True, **PG) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": pg_database,
        "POSTGRES_HOST": PG["host"],
        "POSTGRES_PORT": PG["port"],
        "POSTGRES_USER": PG["user"],
        "POSTGRES_PASSWORD": PG["password"],
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "14",
        "POSTGRES_CONNECT_TIMEOUT": "30",
    }


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """Event-store settings for a SQLite file in a temporary folder."""
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.db")}


STORES = ["memory", "sqlite", "postgres"]


@pytest.fixture(params=STORES)
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Event-store settings for each store the ledger supports, one test run per store."""
    if request.param == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "sqlite":
        return dict(request.getfixturevalue("sqlite_env"))
    return dict(request.getfixturevalue("pg_env"))


@pytest.fixture(params=[False, True], ids=["direct", "group-commit"])
def ledger(request: pytest.FixtureRequest, store_env: dict[str, str]) -> Iterator[Ledger]:
    """A ledger on each store, committing each command alone and in groups."""
    app = Ledger(store_env, group_commit=request.param)
    yield app
    app.close()
