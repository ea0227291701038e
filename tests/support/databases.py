"""SQLAlchemy URLs for the databases the tests make."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote


def schema_url(env: Mapping[str, str]) -> str:
    """The ``postgresql+psycopg`` URL of the database and schema an eventsourcing ``env`` (``pg_env``) names,
    its user and password quoted."""
    password = f":{quote(env['POSTGRES_PASSWORD'], safe='')}" if env["POSTGRES_PASSWORD"] else ""
    return (f"postgresql+psycopg://{quote(env['POSTGRES_USER'], safe='')}{password}@{env['POSTGRES_HOST']}:"
            f"{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}?options=-csearch_path%3D{env['POSTGRES_SCHEMA']}")
