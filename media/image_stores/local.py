"""Local files under ``<data_dir>/media``, served by the API under ``/media/...`` to signed URLs only."""

from __future__ import annotations

import json
import os
import re
import secrets
import uuid
from pathlib import Path

from media.errors import StorageError
from media.image_stores.naming import thumbnail_name
from media.image_stores.signing import EMBEDDED_MEDIA_KEY, sign
from media.image_stores.thumbnails import extension, metadata, stored, thumbnail_and_open_graph
from media.image_stores.uploads import owner_key, upload_info, upload_meta, with_data
from media.ports import ImageResult, StoredImage, Upload, UploadInfo
from media.threads import STORE_THREADS, Lane

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def safe_id(storage_id: str) -> str:
    """``storage_id`` if it is a safe file name (a generation id), else ``StorageError``."""
    if not SAFE_ID.match(storage_id):
        raise StorageError(f"storage id {storage_id!r} is not a plain id")
    return storage_id


def object_name() -> str:
    """A fresh unguessable object name (144 random bits)."""
    return secrets.token_urlsafe(18)


class LocalStore:
    """Writes ``gallery/<random>.<ext>``, a JPEG thumbnail and a record under the generation id that commits
    the pair; the records and the uploads are never served, the images only to URLs signed with ``signing_key``."""

    def __init__(self, data_dir: Path, *, url_prefix: str = "/media", signing_key: str = EMBEDDED_MEDIA_KEY,
                 lane: Lane | None = None) -> None:
        self.root = data_dir / "media"
        self.folder = self.root / "gallery"
        self.upload_folder = self.root / "uploads"
        self.url_prefix = url_prefix.rstrip("/")
        self.signing_key = signing_key
        self.lane = lane or Lane("store", STORE_THREADS)  # its file I/O: never the routes' threads

    async def find(self, storage_id: str) -> StoredImage | None:
        """The image recorded under ``storage_id``, or None."""
        return await self.lane.run(self._find, safe_id(storage_id))

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Write the image and its thumbnail; the record is created only once, never overwritten."""
        return await self.lane.run(self._put, safe_id(storage_id), image, tags)

    async def delete(self, storage_id: str) -> None:
        """Delete the image, its thumbnail and share preview, then its record."""
        await self.lane.run(self._delete, safe_id(storage_id))

    def _delete(self, storage_id: str) -> None:
        record_path = self.folder / f"{storage_id}.json"
        try:
            record = json.loads(record_path.read_text())
        except FileNotFoundError:
            return
        try:
            for key in ("file", "thumbnail", "open_graph"):
                name = str(record.get(key) or "")
                if name and Path(name).name == name:  # a name the store wrote: never a path elsewhere
                    (self.folder / name).unlink(missing_ok=True)
            record_path.unlink(missing_ok=True)  # last: a failure above leaves the record to try again from
        except OSError as error:
            raise StorageError(f"cannot delete {storage_id} under {self.folder}: {error}") from error

    def signed_url(self, url: str, ttl: int) -> str:
        """``url`` (a ``/media/...`` path) signed for about ``ttl`` seconds; any other URL unchanged."""
        path = url.split("?", 1)[0]
        return sign(self.signing_key, path, ttl) if path.startswith(f"{self.url_prefix}/") else url

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
        base = object_name()
        name, thumb = f"{base}.{extension(image.content_type)}", thumbnail_name(base)
        preview = f"{base}_og.jpg"  # the share page's Open Graph image, 1200x630
        record = {**metadata(image), "file": name, "thumbnail": thumb, "open_graph": preview, "tags": list(tags)}
        try:
            small, shared = thumbnail_and_open_graph(image)
            _write(self.folder / name, image.data)
            _write(self.folder / thumb, small)
            _write(self.folder / preview, shared)
            _write(self.folder / f"{storage_id}.json", json.dumps(record).encode(), exclusive=True)
        except FileExistsError:  # another delivery of the same generation got there first: keep its record
            for loser in (name, thumb, preview):
                (self.folder / loser).unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"cannot write {storage_id} under {self.folder}: {error}") from error
        found = self._find(storage_id)
        if found is None:
            raise StorageError(f"record of {storage_id} vanished from {self.folder}")
        return found

    # Uploads: ``uploads/<owner digest>/<upload id>.<ext>`` and its record, never served.

    async def put_upload(self, upload: Upload) -> None:
        """Keep the photo and its record (the record last: it commits the upload)."""
        await self.lane.run(self._put_upload, upload)

    async def read_upload(self, owner: str, upload_id: str) -> Upload | None:
        """The owner's photo ``upload_id``, or None."""
        return await self.lane.run(self._read_upload, owner, safe_id(upload_id))

    async def uploads(self, owner: str | None = None) -> list[UploadInfo]:
        """The uploads kept for ``owner``, or for everyone."""
        return await self.lane.run(self._uploads, owner)

    async def delete_upload(self, owner: str, upload_id: str) -> None:
        """Delete the photo and its record."""
        await self.lane.run(self._delete_upload, owner, safe_id(upload_id))

    def _upload_path(self, owner: str, upload_id: str, suffix: str) -> Path:
        return self.upload_folder / owner_key(owner) / f"{upload_id}.{suffix}"

    def _put_upload(self, upload: Upload) -> None:
        safe_id(upload.upload_id)
        self._upload_path(upload.owner, upload.upload_id, "json").parent.mkdir(parents=True, exist_ok=True)
        try:
            _write(self._upload_path(upload.owner, upload.upload_id, extension(upload.content_type)), upload.data)
            _write(self._upload_path(upload.owner, upload.upload_id, "json"), json.dumps(upload_meta(upload)).encode())
        except OSError as error:
            raise StorageError(f"cannot write upload {upload.upload_id} under {self.upload_folder}: {error}") from error

    def _read_upload(self, owner: str, upload_id: str) -> Upload | None:
        try:
            info = upload_info(json.loads(self._upload_path(owner, upload_id, "json").read_text()))
            if info.owner != owner:
                return None
            return with_data(info, self._upload_path(owner, upload_id, extension(info.content_type)).read_bytes())
        except FileNotFoundError:
            return None

    def _uploads(self, owner: str | None) -> list[UploadInfo]:
        pattern = f"{owner_key(owner)}/*.json" if owner is not None else "*/*.json"
        found = []
        for record in self.upload_folder.glob(pattern):
            try:
                info = upload_info(json.loads(record.read_text()))
            except (FileNotFoundError, ValueError, KeyError):
                continue  # deleted meanwhile, or not a record of ours
            if owner is None or info.owner == owner:
                found.append(info)
        return sorted(found, key=lambda u: u.created_at)

    def _delete_upload(self, owner: str, upload_id: str) -> None:
        record = self._upload_path(owner, upload_id, "json")
        for path in record.parent.glob(f"{upload_id}.*"):
            if path != record:
                path.unlink(missing_ok=True)
        record.unlink(missing_ok=True)  # last: a half-deleted upload is still listed, and deleted again


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
