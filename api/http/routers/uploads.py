"""Uploads: a learner's photo for the templates that take one, kept privately for a while."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Any

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from api.http.deps import CurrentUser, IdempotencyKey, ServiceDep
from api.http.problems import Problem
from api.http.schemas import UploadCreated, problems
from generation.templates import VariableError
from projections.generations import uploads_in_use
from service.container import Service
from service.uploads import UploadRefused, new_upload, purge, reencode

router = APIRouter(prefix="/v1", tags=["uploads"])
PhotoFile = Annotated[UploadFile, File(description="One JPEG, PNG or WebP image, at most 10 MB by default")]


def refused(problem: str) -> Problem:
    """The 422 for a file that cannot be a photo, naming the problem."""
    return Problem(422, "invalid-upload", "Invalid upload", problem, field="file")


@router.post("/uploads", status_code=201, response_model=UploadCreated, responses=problems(401, 409, 422, 429))
async def create_upload(file: PhotoFile, user: CurrentUser, key: IdempotencyKey, service: ServiceDep) -> JSONResponse:
    """Upload a photo for a template that takes one (pass its `upload_id` as `input_upload_id`). It is checked
    by decoding, re-encoded without EXIF or GPS data, visible to no one else, and deleted when it expires
    unless a generation still needs it."""
    limit = service.media.upload_max_bytes
    data = await file.read(limit + 1)
    if not data:
        raise refused("the file is empty")
    if len(data) > limit:
        raise refused(f"the file is too large: more than {limit:,} bytes")
    request = {"route": "POST /v1/uploads", "sha256": hashlib.sha256(data).hexdigest()}
    status, payload, _ = await anyio.to_thread.run_sync(
        lambda: service.idempotency.once(user.user_id, key, request, lambda: _store(service, user.user_id, data)))
    return JSONResponse(payload, status_code=status)


def _store(service: Service, owner: str, data: bytes) -> tuple[int, dict[str, Any]]:
    settings, images = service.media, service.images
    assert images is not None
    try:
        photo = reencode(data, max_bytes=settings.upload_max_bytes, max_pixels=settings.upload_max_pixels)
    except UploadRefused as error:
        raise refused(str(error)) from error
    now = service.clock()
    with service.reads.connect() as conn:
        in_use = uploads_in_use(conn, owner)
    kept = anyio.from_thread.run(purge, images, in_use, now, owner)
    if len(kept) >= settings.upload_quota:
        wait = max(1, int((min(u.expires_at for u in kept) - now).total_seconds()))
        raise Problem(429, "upload-quota-exceeded", "Too many uploads",
                      f"you keep {len(kept)} uploads, the most allowed; the oldest expires in {wait} s",
                      headers={"Retry-After": str(wait)}, quota=settings.upload_quota)
    upload = new_upload(owner, photo, now, timedelta(minutes=settings.upload_ttl_minutes))
    anyio.from_thread.run(images.put_upload, upload)
    created = UploadCreated(upload_id=upload.upload_id, content_type=upload.content_type, width=upload.width,
                            height=upload.height, expires_at=upload.expires_at)
    return 201, created.model_dump(mode="json")


def check_upload(service: Service, owner: str, upload_id: str) -> None:
    """Refuse an upload id that is not one of ``owner``'s current uploads (another user's is unknown too)."""
    assert service.images is not None
    now = service.clock()
    found = [u for u in anyio.from_thread.run(service.images.uploads, owner) if u.upload_id == upload_id]
    if not found or found[0].expires_at <= now:
        raise VariableError("input_upload_id", f"you have no upload {upload_id} (it may have expired): upload the "
                                               "photo again")
