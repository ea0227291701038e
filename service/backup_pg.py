"""PostgreSQL backups: `pg_dump -Fc` of the store's schema (events, positions, read tables, idempotency
keys) taken in an exported snapshot whose ledger position goes in the manifest, and `pg_restore` in
one transaction into a schema that holds nothing, unless forced."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from ledger import Ledger
from service.backup_format import BackupError, Manifest, opened_archive, write_archive
from service.settings import Settings
from service.settings.store import StoreSettings, check_database

DUMP = "store.dump"
# How eventsourcing's PostgresFactory names the events table: the application's name, lower case (the
# restore drill fails if that changes).
EVENTS_TABLE = f"{Ledger.name.lower()}_events"
TOOL_TIMEOUT_S = 6 * 3600  # a dump of a large ledger takes a while; one that hangs for hours has failed


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools (Debian: apt-get install "
                          "postgresql-client), of the server's major version or newer")
    return found


def _connect(store: StoreSettings) -> psycopg.Connection[tuple[object, ...]]:
    # autocommit: each statement stands alone unless we BEGIN ourselves (psycopg's implicit BEGIN would
    # come first and leave ours, with its isolation level, a warning)
    return psycopg.connect(host=store.postgres_host, port=store.postgres_port, user=store.postgres_user,
                           password=store.postgres_password.get_secret_value(), dbname=store.postgres_db,
                           connect_timeout=5, autocommit=True)


def _run(args: list[str], store: StoreSettings, what: str) -> None:
    env = {**os.environ, "PGPASSWORD": store.postgres_password.get_secret_value(), "PGCONNECT_TIMEOUT": "5"}
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)  # noqa: S603 (our arguments)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {TOOL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit status {done.returncode}'}")


def _number(conn: psycopg.Connection[tuple[object, ...]], query: sql.Composable | str,
            params: tuple[object, ...] = ()) -> int:
    """The first column of the first row of a query answering one number (0 for NULL)."""
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]  # psycopg types the SQL as a literal
    value = row[0] if row else None
    return value if isinstance(value, int) else 0


def _where(store: StoreSettings) -> list[str]:
    return ["-h", store.postgres_host, "-p", str(store.postgres_port), "-U", store.postgres_user,
            "-d", store.postgres_db]


def backup_postgres(settings: Settings, target: Path) -> Manifest:
    """Dump the store's schema to ``target``, with the ledger position the dump's snapshot holds."""
    store = settings.store
    check_database(store)
    pg_dump = _tool("pg_dump")
    events = sql.Identifier(store.postgres_schema, EVENTS_TABLE)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as work, _connect(store) as conn:
        # One snapshot for the position and the dump: commands written meanwhile are in neither.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        (snapshot,) = conn.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
        try:
            position = _number(conn, sql.SQL("SELECT max(notification_id) FROM {}").format(events))
        except psycopg.errors.UndefinedTable:
            raise BackupError(f"no event store in schema {store.postgres_schema!r} of database "
                              f"{store.postgres_db!r} (STUDIO_POSTGRES_SCHEMA)") from None
        dump = Path(work) / DUMP
        _run([pg_dump, *_where(store), "--format=custom", f"--schema={store.postgres_schema}",
              f"--snapshot={snapshot}", "--no-owner", "--no-privileges", f"--file={dump}"], store, "pg_dump")
        conn.execute("ROLLBACK")  # the snapshot was needed only while pg_dump read it
        return write_archive(target, store="postgres", position=position, members={DUMP: dump},
                             schema=store.postgres_schema)


def restore_postgres(settings: Settings, source: Path, *, force: bool) -> Manifest:
    """Restore the dump at ``source`` into the store's schema, in one transaction: all of it or nothing."""
    store = settings.store
    check_database(store)
    pg_restore = _tool("pg_restore")
    with tempfile.TemporaryDirectory(prefix=".restore-") as work, opened_archive(source, Path(work)) as (manifest,
                                                                                                         files):
        if manifest.store != "postgres" or DUMP not in files:
            raise BackupError(f"{source} is a backup of a {manifest.store} store; STUDIO_STORE is postgres")
        if manifest.schema != store.postgres_schema:
            raise BackupError(f"{source} holds schema {manifest.schema!r}; STUDIO_POSTGRES_SCHEMA is "
                              f"{store.postgres_schema!r}: set it to {manifest.schema!r} to restore this backup")
        tables = _prepare(store, force=force)
        options = ["--clean", "--if-exists"] if tables else []
        _run([pg_restore, *_where(store), "--exit-on-error", "--single-transaction", "--no-owner",
              "--no-privileges", *options, str(files[DUMP])], store, "pg_restore")
    with _connect(store) as conn:
        head = _number(conn, sql.SQL("SELECT max(notification_id) FROM {}").format(
            sql.Identifier(store.postgres_schema, EVENTS_TABLE)))
    if head != manifest.position:
        raise BackupError(f"the restored event store ends at position {head}, the backup at "
                          f"{manifest.position}: the restore is incomplete")
    return manifest


def _prepare(store: StoreSettings, *, force: bool) -> int:
    """How many tables the target schema holds; refuses a schema that holds any, unless ``force``. An
    empty schema (made for the restore) is dropped so the dump's CREATE SCHEMA can make it."""
    schema = store.postgres_schema
    with _connect(store) as conn:
        tables = _number(conn, "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,))
        if tables and not force:
            raise BackupError(f"schema {schema!r} of database {store.postgres_db!r} already holds {tables} "
                              "table(s): restore into a new database or schema, or pass --force to replace "
                              "what the backup holds")
        if not tables and schema != "public":
            try:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} RESTRICT").format(sql.Identifier(schema)))
            except psycopg.errors.DependentObjectsStillExist:
                raise BackupError(f"schema {schema!r} holds no tables but other objects: restore into a new "
                                  "database or schema") from None
    return tables
