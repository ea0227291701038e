"""`studio-ledger store ...`: create the store, back it up while it runs, restore a backup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

T = TypeVar("T")
store_app = typer.Typer(help="The event store and the read database.", no_args_is_help=True)


@store_app.command("init")
def store_init() -> None:
    """Create the event store's tables and the read tables if they do not exist (idempotent)."""
    from api.processes.projector import create_schema

    typer.echo(create_schema())


@store_app.command("backup")
def store_backup(file: Annotated[Path, typer.Argument(help="The backup file to write.", show_default=False)],
                 force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False) -> None:
    """Write a consistent backup of the event store and the read tables to FILE while the service runs.

    SQLite: the online backup API copies the read database, then the event store. PostgreSQL: pg_dump
    of STUDIO_POSTGRES_SCHEMA in one snapshot. The file names the ledger position it holds."""
    from service.backup import backup
    from service.settings import Settings

    done = _one_line(lambda: backup(Settings(), file, force=force))
    typer.echo(f"backed up {done.where} to {file}: ledger position {done.manifest.position}, "
               f"{sum(int(f['size']) for f in done.manifest.files.values())} bytes before compression")


@store_app.command("restore")
def store_restore(file: Annotated[Path, typer.Argument(help="A file `store backup` wrote.", show_default=False)],
                  force: Annotated[bool, typer.Option("--force", help="Restore over a store that holds data "
                                                      "(stop every process that uses it first).")] = False) -> None:
    """Restore FILE into the configured store (STUDIO_DATA_DIR, or STUDIO_POSTGRES_DB and _SCHEMA), which
    must hold nothing unless --force; then `projections rebuild` and `audit verify`."""
    from service.backup import restore
    from service.settings import Settings

    done = _one_line(lambda: restore(Settings(), file, force=force))
    typer.echo(f"restored {file} into {done.where}: ledger position {done.manifest.position} (backed up "
               f"{done.manifest.created_at}); next: studio-ledger projections rebuild, then studio-ledger audit verify")


def _one_line(step: Callable[[], T]) -> T:
    """Run ``step``; a refusal, a damaged file or a database that went away is one line and exit 1."""
    import psycopg

    from service.backup_format import BackupError
    from service.settings.store import StartupError

    try:
        return step()
    except (BackupError, StartupError) as error:  # StartupError: the database is not there, or refuses us
        typer.echo(f"studio-ledger: {error}", err=True)
        raise typer.Exit(1) from None
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        typer.echo(f"studio-ledger: PostgreSQL failed during the command: {reason}", err=True)
        raise typer.Exit(1) from None
