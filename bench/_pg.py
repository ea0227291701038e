"""A throwaway PostgreSQL database for one benchmark run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG = {
    "host": os.environ.get("STUDIO_TEST_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("STUDIO_TEST_PG_PORT", "5432"),
    "user": os.environ.get("STUDIO_TEST_PG_USER", "postgres"),
    "password": os.environ.get("STUDIO_TEST_PG_PASSWORD", ""),
}


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """Create a database for the run and drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ledger_env(dbname: str, pool_size: int = 10) -> dict[str, str]:
    """The eventsourcing settings for a ledger in ``dbname``."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": PG["host"],
        "POSTGRES_PORT": PG["port"],
        "POSTGRES_USER": PG["user"],
        "POSTGRES_PASSWORD": PG["password"],
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size * 2),
    }
