"""Local files under ``<data_dir>/media``, served by the API under ``/media/...`` to signed URLs only."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import uuid
from pathlib import Path

from media.errors import ImageMissing, StorageError
from media.image_stores.naming import open_graph_name, thumbnail_name
from media.image_stores.signing import EMBEDDED_MEDIA_KEY, sign
from media.image_stores.thumbnails import extension, metadata, open_graph, stored, thumbnail
from media.image_stores.uploads import owner_key, upload_info, upload_meta, with_data
from media.ports import ImageResult, StoredImage, Upload, UploadInfo
from media.threads import STORE_THREADS, Lane

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}\.(png|jpg|webp)")  # an image the store wrote: no path, no record
PREVIEW_THREADS = 2  # share previews made at once (30-50 ms of CPU each): a crawler's burst queues behind them


def safe_id(storage_id: str) -> str:
    """``storage_id`` if it is a safe file name (a generation id), else ``StorageError``."""
    if not SAFE_ID.fullmatch(storage_id):  # never match(): its $ lets a final newline through
        raise StorageError(f"storage id {storage_id!r} is not a plain id")
    return storage_id


def object_name() -> str:
    """A fresh unguessable object name (144 random bits)."""
    return secrets.token_urlsafe(18)


class LocalStore:
    """Writes ``gallery/<random>.<ext>``, a JPEG thumbnail and a record under the generation id that commits
    the pair; the records and the uploads are never served, the images only to URLs signed with ``signing_key``.
    The share preview ``<random>_og.jpg`` is made on its first request (``share_preview``)."""

    def __init__(self, data_dir: Path, *, url_prefix: str = "/media", signing_key: str = EMBEDDED_MEDIA_KEY,
                 lane: Lane | None = None, preview_lane: Lane | None = None) -> None:
        self.root = data_dir / "media"
        self.folder = self.root / "gallery"
        self.upload_folder = self.root / "uploads"
        self.url_prefix = url_prefix.rstrip("/")
        self.signing_key = signing_key
        self.lane = lane or Lane("store", STORE_THREADS)  # its file I/O: never the routes' threads
        self.preview_lane = preview_lane or Lane("share-preview", PREVIEW_THREADS)  # decoding and encoding
        self._previewing: dict[str, asyncio.Future[Path]] = {}  # the previews being made, by image name

    async def find(self, storage_id: str) -> StoredImage | None:
        """The image recorded under ``storage_id``, or None."""
        return await self.lane.run(self._find, safe_id(storage_id))

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Write the image and its thumbnail; the record is created only once, never overwritten."""
        return await self.lane.run(self._put, safe_id(storage_id), image, tags)

    async def delete(self, storage_id: str) -> None:
        """Delete the image, its thumbnail and share preview (if one was made), then its record."""
        await self.lane.run(self._delete, safe_id(storage_id))

    def _delete(self, storage_id: str) -> None:
        record_path = self.folder / f"{storage_id}.json"
        try:
            record = json.loads(record_path.read_text())
        except FileNotFoundError:
            return
        try:
            file = str(record.get("file") or "")
            # a record written before previews were made on request names its preview: the same name
            for name in (file, str(record.get("thumbnail") or ""), file and open_graph_name(file),
                         str(record.get("open_graph") or "")):
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
        record = {**metadata(image), "file": name, "thumbnail": thumb, "tags": list(tags)}
        try:
            small = thumbnail(image)
            _write(self.folder / name, image.data)
            _write(self.folder / thumb, small)
            _write(self.folder / f"{storage_id}.json", json.dumps(record).encode(), exclusive=True)
        except FileExistsError:  # another delivery of the same generation got there first: keep its record
            for loser in (name, thumb):
                (self.folder / loser).unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"cannot write {storage_id} under {self.folder}: {error}") from error
        found = self._find(storage_id)
        if found is None:
            raise StorageError(f"record of {storage_id} vanished from {self.folder}")
        return found

    async def share_preview(self, url: str) -> Path:
        """The file of the 1200x630 share preview of the image at ``url`` (this store's), made from the image on
        the first request (once: concurrent requests wait for the same making); ``ImageMissing`` if the image is
        gone, ``StorageError`` if it is not this store's or cannot be read."""
        name = self._image_name(url)
        preview = self.folder / open_graph_name(name)
        if await self.lane.run(preview.is_file):
            return preview
        making = self._previewing.get(name)
        if making is None:
            making = asyncio.ensure_future(self.preview_lane.run(self._make_preview, name))
            self._previewing[name] = making
            making.add_done_callback(lambda done: self._previewed(name, done))
        return await asyncio.shield(making)  # a request that goes away leaves the making to the others

    def _image_name(self, url: str) -> str:
        name = url.removeprefix(f"{self.url_prefix}/gallery/")
        if name == url or not IMAGE_NAME.fullmatch(name):
            raise StorageError(f"{url!r} is not the URL of an image in this store")
        return name

    def _previewed(self, name: str, done: asyncio.Future[Path]) -> None:
        self._previewing.pop(name, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone

    def _make_preview(self, name: str) -> Path:
        source, preview = self.folder / name, self.folder / open_graph_name(name)
        if preview.is_file():  # made by a request that finished a moment ago
            return preview
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise ImageMissing(f"the image {name} is missing from {self.folder}") from None
        except OSError as error:
            raise StorageError(f"cannot read the image {name} under {self.folder}: {error}") from error
        shared = open_graph(ImageResult(data=data, content_type="", provider="", model="", seed=None))
        try:
            _write(preview, shared)
        except OSError as error:
            raise StorageError(f"cannot write the share preview of {name} under {self.folder}: {error}") from error
        if not source.is_file():  # deleted while its preview was made: the preview goes with it
            preview.unlink(missing_ok=True)
            raise ImageMissing(f"the image {name} was deleted")
        return preview

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
