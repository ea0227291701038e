"""`studio-ledger store backup` and `store restore`: a consistent copy of the event store and the read
database while the service runs, and a restore that refuses a target already holding data."""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from service.backup_format import (
    BackupError,
    Manifest,
    check_target_file,
    opened_archive,
    remove_quietly,
    write_archive,
)
from service.backup_pg import backup_postgres, restore_postgres
from service.settings import Settings

EVENTS, READ = "events.db", "read.db"
# eventsourcing's SQLite recorder keeps its default name (the drill's position check fails if that changes)
EVENTS_TABLE = "stored_events"


@dataclass(frozen=True)
class Done:
    """What a backup or a restore did, for the command's one line."""

    manifest: Manifest
    where: str


def backup(settings: Settings, target: Path, *, force: bool = False) -> Done:
    """Write a backup of the configured store to ``target`` (refused if it exists, unless ``force``)."""
    check_target_file(target, force=force)
    store = settings.store
    if store.backend == "memory":
        raise BackupError("the memory store keeps nothing between processes: back up a sqlite or postgres store "
                          "(STUDIO_STORE)")
    if store.backend == "postgres":
        return Done(backup_postgres(settings, target), f"{store.postgres_db} schema {store.postgres_schema}")
    return Done(_backup_sqlite(settings, target), str(store.data_dir))


def restore(settings: Settings, source: Path, *, force: bool = False) -> Done:
    """Restore the backup at ``source`` into the configured store, which must hold nothing unless ``force``."""
    store = settings.store
    if store.backend == "memory":
        raise BackupError("the memory store keeps nothing between processes: restore into a sqlite or postgres "
                          "store (STUDIO_STORE)")
    if store.backend == "postgres":
        return Done(restore_postgres(settings, source, force=force),
                    f"{store.postgres_db} schema {store.postgres_schema}")
    return Done(_restore_sqlite(settings, source, force=force), str(store.data_dir))


def _sqlite_file(settings: Settings, name: str) -> Path:
    return settings.store.data_dir / name


def _read_file(settings: Settings) -> Path | None:
    """The read database's file when it is SQLite (beside the event store unless STUDIO_READ_DB_URL moves it)."""
    url = settings.read_db_url
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: one consistent snapshot while writers carry on (WAL lets them)."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # every page in one step: a snapshot, never restarted by a concurrent write
    finally:
        dst.close()
        src.close()


def _backup_sqlite(settings: Settings, target: Path) -> Manifest:
    events = _sqlite_file(settings, EVENTS)
    if not events.is_file():
        raise BackupError(f"no event store at {events} (STUDIO_DATA_DIR)")
    read = _read_file(settings)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as work:
        members: dict[str, Path] = {}
        # The read tables first, the events after: the copy of the read tables is then never ahead of
        # the copy of the log, and the projector carries them forward from their positions.
        if read is not None and read.is_file():
            members[READ] = Path(work) / READ
            _copy(read, members[READ])
        members[EVENTS] = Path(work) / EVENTS
        _copy(events, members[EVENTS])
        return write_archive(target, store="sqlite", position=_head(members[EVENTS]), members=dict(
            sorted(members.items())))


def _head(events: Path) -> int:
    with sqlite3.connect(events) as db:
        (head,) = db.execute(f"SELECT MAX(rowid) FROM {EVENTS_TABLE}").fetchone()  # noqa: S608 (a constant)
    db.close()
    return int(head or 0)


def _restore_sqlite(settings: Settings, source: Path, *, force: bool) -> Manifest:
    folder = settings.store.data_dir
    targets = {EVENTS: _sqlite_file(settings, EVENTS)}
    read = _read_file(settings)
    if read is not None:
        targets[READ] = read
    present = [p for p in targets.values() if p.exists() and p.stat().st_size > 0]
    if present and not force:
        raise BackupError(f"{', '.join(map(str, present))} already holds data: restore into an empty "
                          "STUDIO_DATA_DIR, or stop the service and pass --force to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=folder) as work, \
            opened_archive(source, Path(work)) as (manifest, files):
        if manifest.store != "sqlite":
            raise BackupError(f"{source} is a backup of a {manifest.store} store; STUDIO_STORE is sqlite")
        for name, path in files.items():
            _check_database(source, name, path)
        for name, path in files.items():
            if name in targets:
                # a replaced database's write-ahead log belongs to the old data: it goes with it
                remove_quietly(*(targets[name].with_name(targets[name].name + s) for s in ("-wal", "-shm")))
                path.replace(targets[name])
        if READ not in files and READ in targets:
            remove_quietly(targets[READ])  # read tables of other data: the projector fills them again
    return manifest


def _check_database(source: Path, name: str, path: Path) -> None:
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
            (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
        db.close()
    except sqlite3.DatabaseError as error:
        verdict = str(error)
    if verdict != "ok":
        raise BackupError(f"{source}: {name} is not a sound SQLite database ({verdict})")
