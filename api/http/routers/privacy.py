"""A learner's own data: delete an image or an uploaded photo now, export everything kept about them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.http.deps import CommandsDep, CurrentUser, ServiceDep
from api.http.privacy_schemas import (
    ExportedGeneration,
    ExportedUpload,
    ExportPublic,
    ImageDeleted,
    LearnerErasedPublic,
)
from api.http.reads import read
from api.http.routers.generations import generation_shown
from api.http.routers.wallet import wallet_public
from api.http.schemas import StatementLinePublic, problems
from projections import queries
from service import erasure, privacy
from service.container import Service

router = APIRouter(prefix="/v1", tags=["privacy"])
UploadId = Path(max_length=100, description="the upload_id answered by POST /v1/uploads")
PAGE = 500  # statement lines read at a time for an export


@router.delete("/generations/{generation_id}", response_model=ImageDeleted, responses=problems(401, 404, 409))
async def delete_generation(generation_id: UUID, user: CurrentUser, service: ServiceDep,
                            commands: CommandsDep) -> ImageDeleted:
    """Delete a finished image: from the gallery, the image store (with its thumbnail and share preview) and its
    share link. The statement keeps its credits, described as "image deleted". A repeat changes nothing."""
    assert service.images is not None
    deleted = await privacy.delete_image(service.ledger, service.images, user_id=user.user_id,
                                         generation_id=generation_id, at=service.clock(),
                                         lane=service.limits.commands, run=commands.run)
    return ImageDeleted(generation_id=generation_id, deleted=True, position=deleted.position)


@router.delete("/uploads/{upload_id}", status_code=204, responses=problems(401, 404))
async def delete_upload(user: CurrentUser, service: ServiceDep, upload_id: str = UploadId) -> None:
    """Delete an uploaded photo now, not at its expiry (a generation still waiting for it fails, and its credits
    come back)."""
    assert service.images is not None
    await privacy.delete_upload(service.images, owner=user.user_id, upload_id=upload_id)


@router.delete("/me", response_model=LearnerErasedPublic, responses=problems(401, 503))
async def erase_me(user: CurrentUser, service: ServiceDep, commands: CommandsDep) -> LearnerErasedPublic:
    """Erase the caller: every image and upload deleted, their words made unreadable for ever (their key is
    destroyed) and shown as erased; the credits and the statement's amounts stay. A repeat finishes what a failure
    interrupted."""
    assert service.images is not None
    await service.settle()  # every generation of theirs, the one just made included
    rows = await service.limits.commands.run(read, service, lambda conn: queries.all_generations(conn, user.user_id))
    erased = await erasure.erase_learner(
        service.ledger, service.images, user_id=user.user_id, by=user.user_id, at=service.clock(),
        generations=[row["generation_id"] for row in rows if row["image_url"]], lane=service.limits.commands,
        run=commands.run)
    return LearnerErasedPublic(user_id=user.user_id, images_deleted=erased.images, uploads_deleted=erased.uploads,
                               position=erased.position)


@router.get("/me/export", response_model=ExportPublic, responses=problems(401, 503))
async def export_my_data(user: CurrentUser, service: ServiceDep) -> JSONResponse:
    """Everything kept about the caller, as a JSON file: the wallet, every statement line, every generation with
    its texts and links to its images (working for a limited time), and the uploaded photos."""
    position = await service.settle()  # an export leaves out nothing the learner just did
    at = service.clock()
    assert service.images is not None
    uploads = await service.images.uploads(user.user_id)
    wallet, lines, made = await service.limits.commands.run(read, service, lambda conn: _rows(conn, user.user_id, at))
    export = ExportPublic(
        user_id=user.user_id, exported_at=at, position=position, wallet=wallet_public(user.user_id, wallet, position),
        statement=[StatementLinePublic.model_validate(line) for line in lines],
        generations=[_generation(service, row) for row in made],
        uploads=[ExportedUpload(upload_id=u.upload_id, content_type=u.content_type, width=u.width, height=u.height,
                                created_at=u.created_at, expires_at=u.expires_at) for u in uploads])
    filename = f"studio-export-{at:%Y%m%d}.json"
    return JSONResponse(export.model_dump(mode="json"), headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _rows(conn: Any, user_id: str, at: Any) -> tuple[Any, list[Any], list[Any]]:
    lines: list[Any] = []
    before = None
    while page := queries.statement(conn, user_id, before=before, limit=PAGE):
        lines.extend(page)
        before = page[-1]["position"]
    return queries.wallet(conn, user_id, at), list(reversed(lines)), queries.all_generations(conn, user_id)


def _generation(service: Service, row: Any) -> ExportedGeneration:
    deleted = row["status"] == "completed" and not row["image_url"]
    return generation_shown(ExportedGeneration, service, row, image_deleted=deleted)
