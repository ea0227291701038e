"""The backup file: a gzip'd tar whose first member is a manifest naming the store, the ledger position
the backup holds and each file's size and SHA-256, so a truncated, edited or foreign file is refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

FORMAT = "studio-ledger-backup"
VERSION = 1
MANIFEST = "manifest.json"
Kind = Literal["sqlite", "postgres"]


class BackupError(RuntimeError):
    """A backup or a restore that cannot go ahead; the message is the one line the command prints."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: its store, the last ledger position in it and its files' checksums."""

    store: Kind
    position: int
    created_at: str
    files: Mapping[str, Mapping[str, Any]]  # name -> {"size": bytes, "sha256": hex}
    schema: str | None = None  # PostgreSQL: the schema the dump holds

    def as_dict(self) -> dict[str, Any]:
        """The manifest as stored in the file."""
        return {"format": FORMAT, "version": VERSION, "store": self.store, "position": self.position,
                "created_at": self.created_at, "schema": self.schema, "files": dict(self.files)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_target_file(target: Path, *, force: bool) -> None:
    """Refuse to overwrite a file without --force, or to write into a folder that is not there."""
    if target.is_dir():
        raise BackupError(f"{target} is a folder: name the backup file to write")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose another name, or pass --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")


def write_archive(target: Path, *, store: Kind, position: int, members: Mapping[str, Path],
                  schema: str | None = None) -> Manifest:
    """Write the backup to ``target`` through a temporary name, so a backup that stops half-way never
    leaves a file that looks finished."""
    manifest = Manifest(store=store, position=position, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        files={name: {"size": path.stat().st_size, "sha256": _sha256(path)}
                               for name, path in members.items()}, schema=schema)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            body = json.dumps(manifest.as_dict(), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(datetime.now(UTC).timestamp())
            archive.addfile(info, io.BytesIO(body))
            for name, path in members.items():
                archive.add(path, arcname=name, recursive=False)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


# What a cut-off or foreign gzip/tar stream raises somewhere while it is read.
_DAMAGED = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError)


@contextmanager
def opened_archive(source: Path, into: Path) -> Iterator[tuple[Manifest, dict[str, Path]]]:
    """Read the backup at ``source`` into the folder ``into``, checked against its manifest: the manifest
    and the path of each file. Anything else (not ours, cut off, edited) is one BackupError line."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with source.open("rb") as f:
        if f.read(2) != b"\x1f\x8b":
            raise BackupError(f"{source} is not a studio-ledger backup (not a gzip'd tar file)")
    try:
        with tarfile.open(source, "r:gz") as archive:
            first = archive.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{source} is not a studio-ledger backup (it has no {MANIFEST} first)")
            manifest = _manifest(source, archive.extractfile(first))
            found: dict[str, Path] = {}
            while (member := archive.next()) is not None:  # streamed: the file is read once, front to back
                expected = manifest.files.get(member.name)
                if expected is None or not member.isfile() or member.name in found:
                    raise BackupError(f"{source}: unexpected entry {member.name!r}; it is not a backup this "
                                      "command wrote")
                path = into / f"restore-{len(found)}"
                stream = archive.extractfile(member)
                assert stream is not None  # a regular file, checked above
                with path.open("wb") as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
                found[member.name] = path
    except BackupError:
        raise
    except _DAMAGED as error:
        raise BackupError(f"{source} is truncated or damaged ({type(error).__name__}: {error}); "
                          "it cannot be restored") from None
    missing = sorted(set(manifest.files) - set(found))
    if missing:
        raise BackupError(f"{source} is truncated: {', '.join(missing)} missing")
    for name, path in found.items():
        want = manifest.files[name]
        if path.stat().st_size != want.get("size") or _sha256(path) != want.get("sha256"):
            raise BackupError(f"{source} is damaged: {name} does not match the checksum in its manifest")
    yield manifest, found


def _manifest(source: Path, stream: Any) -> Manifest:
    try:
        data = json.loads(stream.read(1 << 20)) if stream is not None else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{source} is not a studio-ledger backup (its manifest is not ours)")
    if data.get("version") != VERSION:
        raise BackupError(f"{source} is a backup of format version {data.get('version')!r}; this version "
                          f"reads version {VERSION}")
    files, position = data.get("files"), data.get("position")
    if data.get("store") not in ("sqlite", "postgres") or not isinstance(files, dict) or not isinstance(position, int):
        raise BackupError(f"{source} has a manifest this version cannot read")
    return Manifest(store=data["store"], position=position, created_at=str(data.get("created_at")), files=files,
                    schema=data.get("schema"))


def remove_quietly(*paths: Path) -> None:
    """Delete what a failed step left behind, ignoring what is already gone."""
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()
