"""Local files under ``<data_dir>/media``, served by the API under ``/media/...``."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import anyio.to_thread

from generation.errors import StorageError
from generation.ports import ImageResult, StoredImage
from generation.stores.thumbnails import extension, metadata, open_graph, stored, thumbnail

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def safe_id(storage_id: str) -> str:
    """``storage_id`` if it is a safe file name (a generation id), else ``StorageError``."""
    if not SAFE_ID.match(storage_id):
        raise StorageError(f"storage id {storage_id!r} is not a plain id")
    return storage_id


class LocalStore:
    """Writes ``gallery/<id>.<ext>``, a JPEG thumbnail and a JSON record that commits the pair."""

    def __init__(self, data_dir: Path, *, url_prefix: str = "/media") -> None:
        self.root = data_dir / "media"
        self.folder = self.root / "gallery"
        self.url_prefix = url_prefix.rstrip("/")

    async def find(self, storage_id: str) -> StoredImage | None:
        """The image recorded under ``storage_id``, or None."""
        return await anyio.to_thread.run_sync(self._find, safe_id(storage_id))

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Write the image and its thumbnail; the record is created only once, never overwritten."""
        return await anyio.to_thread.run_sync(self._put, safe_id(storage_id), image, tags)

    def _url(self, name: str) -> str:
        return f"{self.url_prefix}/gallery/{name}"

    def _find(self, storage_id: str) -> StoredImage | None:
        try:
            record = json.loads((self.folder / f"{storage_id}.json").read_text())
        except FileNotFoundError:
            return None
        return stored(self._url(record["file"]), storage_id, self._url(record["thumbnail"]), record)

    def _put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...]) -> StoredImage:
        existing = self._find(storage_id)
        if existing is not None:
            return existing
        self.folder.mkdir(parents=True, exist_ok=True)
        name, thumb = f"{storage_id}.{extension(image.content_type)}", f"{storage_id}_thumb.jpg"
        preview = f"{storage_id}_og.jpg"  # the share page's Open Graph image, 1200x630
        record = {**metadata(image), "file": name, "thumbnail": thumb, "open_graph": preview, "tags": list(tags)}
        try:
            _write(self.folder / name, image.data)
            _write(self.folder / thumb, thumbnail(image.data))
            _write(self.folder / preview, open_graph(image.data))
            _write(self.folder / f"{storage_id}.json", json.dumps(record).encode(), exclusive=True)
        except FileExistsError:
            pass  # another delivery of the same generation got there first: keep its record
        except OSError as error:
            raise StorageError(f"cannot write {storage_id} under {self.folder}: {error}") from error
        found = self._find(storage_id)
        if found is None:
            raise StorageError(f"record of {storage_id} vanished from {self.folder}")
        return found


def _write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    # Write beside the target and move it in, so a reader never sees half a file.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_bytes(data)
    try:
        if exclusive:
            os.link(temporary, path)  # fails if the record exists: the first writer wins
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
