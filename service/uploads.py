"""The learners' uploaded photos: checked by decoding, re-encoded without metadata, kept privately by the
image store (a few per learner), and deleted once expired unless a pending generation still needs them."""

from __future__ import annotations

import io
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from PIL import Image, ImageOps

from media.fetch import FetchRefused, Photo, check_header, declared
from media.ports import ImageStore, Upload, UploadInfo
from service.errors import UploadQuotaExceeded, UploadRefused
from service.limits import Limits
from service.liveness import thread_state

log = logging.getLogger(__name__)
MAX_SIDE = 2048  # longer edge kept: enough for any model, and no learner's camera original is stored


def check_size(data: bytes, limit: int) -> None:
    """Refuse an empty file, or one of more than ``limit`` bytes, before reading it as an image."""
    if not data:
        raise UploadRefused("the file is empty")
    if len(data) > limit:
        raise UploadRefused(f"the file is too large: more than {limit:,} bytes")


async def store_upload(images: ImageStore, owner: str, data: bytes, *, in_use: Callable[[], set[str] | None],
                       now: datetime, max_bytes: int, max_pixels: int, quota: int, ttl: timedelta,
                       limits: Limits) -> Upload:
    """Keep ``data`` as a new upload of ``owner``, re-encoded; ``UploadRefused`` for a file that is not a
    photo, ``UploadQuotaExceeded`` when ``owner`` keeps ``quota`` uploads that have not expired (or that
    a pending generation, one of ``in_use()``, still needs). What costs little is checked first (the size
    and the pixels the file declares, then the quota); only then is it decoded, in the decode lane. One
    owner's uploads are counted and kept one at a time in this process, so concurrent ones cannot pass the
    quota together; and counted again once kept, so neither can uploads kept by another API replica."""
    check_declared(data, max_bytes=max_bytes, max_pixels=max_pixels)
    async with limits.upload_locks.hold(owner):
        needed = await limits.commands.run(in_use)
        check_quota(await purge(images, needed, now, owner), quota, now)
        photo = await limits.decode.run(partial(reencode, data, max_bytes=max_bytes, max_pixels=max_pixels))
        upload = new_upload(owner, photo, now, ttl)
        await images.put_upload(upload)
        kept = [u for u in await images.uploads(owner) if u.expires_at > now or u.upload_id in (needed or ())]
        if len(kept) > quota:  # another replica kept one meanwhile: give ours back rather than pass the quota
            await images.delete_upload(owner, upload.upload_id)
            check_quota([u for u in kept if u.upload_id != upload.upload_id], quota, now)
    return upload


def check_quota(kept: list[UploadInfo], quota: int, now: datetime) -> None:
    """``UploadQuotaExceeded`` when ``kept`` fills the quota, with the wait until the oldest expires."""
    if len(kept) >= quota:
        wait = max(1, int((min(u.expires_at for u in kept) - now).total_seconds()))
        raise UploadQuotaExceeded(len(kept), quota, retry_after=wait)


def check_declared(data: bytes, *, max_bytes: int, max_pixels: int) -> str:
    """The content type the file declares, if its size and declared pixels are within bounds (nothing decoded)."""
    if len(data) > max_bytes:
        raise UploadRefused(f"the file is too large: {len(data):,} bytes, at most {max_bytes:,}")
    try:
        return check_header(data, max_pixels=max_pixels)
    except FetchRefused as error:
        raise UploadRefused(str(error)) from error


def reencode(data: bytes, *, max_bytes: int, max_pixels: int) -> Photo:
    """The photo decoded (once), turned upright, shrunk to ``MAX_SIDE`` and saved again in its own format with
    no EXIF, GPS, XMP or comments; ``UploadRefused`` names what is wrong with the file."""
    if len(data) > max_bytes:
        raise UploadRefused(f"the file is too large: {len(data):,} bytes, at most {max_bytes:,}")
    try:
        with Image.open(io.BytesIO(data)) as original:
            content_type = declared(original, max_pixels=max_pixels)
            original.draft(None, (MAX_SIDE, MAX_SIDE))  # a JPEG twice MAX_SIDE or more decodes at 1/2 to 1/8
            image = ImageOps.exif_transpose(original) or original
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            kind = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}[content_type]
            if kind == "JPEG" and image.mode != "RGB":
                image = image.convert("RGB")
            elif image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
            clean = Image.new(image.mode, image.size)  # a fresh image carries none of the original's info
            clean.paste(image)
    except FetchRefused as error:
        raise UploadRefused(str(error)) from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UploadRefused(f"not an image: {error}") from error
    out = io.BytesIO()
    # PNG at zlib level 1: an upload lives a day at most, and level 9 ("optimize") spent 5 s of CPU on a
    # 2048 px photo against about 1 s here.
    clean.save(out, format=kind, **({"quality": 90} if kind in ("JPEG", "WEBP") else {"compress_level": 1}))
    return Photo(data=out.getvalue(), content_type=content_type, width=clean.width, height=clean.height)


def new_upload(owner: str, photo: Photo, now: datetime, ttl: timedelta) -> Upload:
    """A fresh upload of ``owner`` with an unguessable id."""
    return Upload(upload_id=secrets.token_urlsafe(16), owner=owner, content_type=photo.content_type,
                  width=photo.width, height=photo.height, created_at=now, expires_at=now + ttl, data=photo.data)


async def purge(store: ImageStore, in_use: set[str] | None, now: datetime,
                owner: str | None = None) -> list[UploadInfo]:
    """Delete the expired uploads (of ``owner``, or everyone's) that no pending generation needs; those kept that
    have not expired or are needed. ``in_use`` None: not known (the projections lag the ledger), so none is
    deleted, since a generation accepted a moment ago may need any of them."""
    kept = []
    for upload in await store.uploads(owner):
        if upload.expires_at > now or (in_use is not None and upload.upload_id in in_use):
            kept.append(upload)
        elif in_use is not None:
            await store.delete_upload(upload.owner, upload.upload_id)
    return kept


@dataclass
class UploadPurger:
    """Purges expired uploads every ``interval`` seconds on a background thread."""

    store: ImageStore
    in_use: Callable[[], set[str] | None]  # None while the projections do not reach the ledger's head
    clock: Callable[[], datetime]
    interval: float

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start purging in the background."""
        self._thread = threading.Thread(target=self._run, name="upload-purge", daemon=True)
        self._thread.start()

    def check(self) -> str:
        """"ok" while the purging thread runs, else "stopped"."""
        return thread_state(self._thread)

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_once(self) -> None:
        """One pass over every owner's uploads."""
        import anyio

        now = self.clock()  # before in_use() reads the head: what was accepted after found its upload unexpired
        anyio.run(purge, self.store, self.in_use(), now)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # the store or the read database is away: try again next time
                log.exception("purging expired uploads failed")

