"""Uploads: a learner's photo for the templates that take one, kept privately for a while."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from api.http.deps import CommandsDep, CurrentUser, IdempotencyKey, ServiceDep
from api.http.reads import at_head
from api.http.schemas import UploadCreated, problems
from projections.generations import uploads_in_use
from service.commands import Answer, caller
from service.container import Service
from service.uploads import check_size, store_upload

router = APIRouter(prefix="/v1", tags=["uploads"])
PhotoFile = Annotated[UploadFile, File(description="One JPEG, PNG or WebP image, at most 10 MB by default")]


@router.post("/uploads", status_code=201, response_model=UploadCreated, responses=problems(401, 409, 422, 429))
async def create_upload(file: PhotoFile, user: CurrentUser, key: IdempotencyKey, service: ServiceDep,
                        commands: CommandsDep) -> JSONResponse:
    """Upload a photo for a template that takes one (pass its `upload_id` as `input_upload_id`). It is checked
    by decoding, re-encoded without EXIF or GPS data, visible to no one else, and deleted when it expires
    unless a generation still needs it."""
    limit = service.media.upload_max_bytes
    data = await file.read(limit + 1)
    check_size(data, limit)
    request = {"route": "POST /v1/uploads", "sha256": hashlib.sha256(data).hexdigest()}
    # Expired uploads are purged on the way unless a pending generation takes them, which is known at the head
    # only; "now" is read first, so a generation accepted after the head found its upload unexpired at "now".
    now = service.clock()
    known = await at_head(service)
    with service.limits.uploads.slot(user.user_id):
        status, payload = await commands.once_async(caller(user.user_id), key, request,
                                                    lambda: _store(service, user.user_id, data, now=now, known=known))
    return JSONResponse(payload, status_code=status)


async def _store(service: Service, owner: str, data: bytes, *, now: datetime, known: bool) -> Answer:
    settings, images = service.media, service.images
    assert images is not None

    def in_use() -> set[str] | None:
        if not known:
            return None
        with service.reads.connect() as conn:
            return uploads_in_use(conn, owner)

    upload = await store_upload(images, owner, data, in_use=in_use, now=now,
                                max_bytes=settings.upload_max_bytes, max_pixels=settings.upload_max_pixels,
                                quota=settings.upload_quota, ttl=timedelta(minutes=settings.upload_ttl_minutes),
                                limits=service.limits)
    created = UploadCreated(upload_id=upload.upload_id, content_type=upload.content_type, width=upload.width,
                            height=upload.height, expires_at=upload.expires_at)
    return 201, created.model_dump(mode="json")
