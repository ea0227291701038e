"""Generations: request one from a template, follow it, see the gallery, share an image."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.http.deps import (
    CommandsDep,
    CurrentUser,
    Cursor,
    IdempotencyKey,
    Limit,
    ServiceDep,
    Visible,
    WaitForPosition,
    before,
)
from api.http.reads import look_up
from api.http.report_schemas import TakedownPublic
from api.http.routers.media import signed
from api.http.schemas import (
    GalleryItemPublic,
    GenerationAccepted,
    GenerationCreate,
    GenerationPublic,
    Page,
    ShareCreated,
    ShareRemoved,
    problems,
)
from ledger import GenerationNotFound
from projections import queries
from service import shares
from service.commands import Answer, caller
from service.container import Service
from service.generations import GenerationRequest, request_generation, user_generation
from service.photos import ServicePhotos

router = APIRouter(prefix="/v1", tags=["generations"])
Shown = TypeVar("Shown", bound=BaseModel)


def share_url(service: Service, token: str | None) -> str | None:
    """The public page of a shared image."""
    return f"{service.api.public_url.rstrip('/')}/s/{token}" if token else None


def generation_shown(model: type[Shown], service: Service, row: Mapping[Any, Any], **fields: Any) -> Shown:
    """A row of ``generations`` or ``gallery`` as ``model`` shows it: the columns it names, its share page and its
    image URLs signed for the caller, and ``fields`` beside them."""
    columns = {k: row[k] for k in model.model_fields if k in row}
    return model(**{**columns, "share_url": share_url(service, row["share_token"]),
                    "image_url": signed(service, row["image_url"]),
                    "thumbnail_url": signed(service, row["thumbnail_url"]), **fields})


@router.post("/generations", status_code=202, response_model=GenerationAccepted,
             responses=problems(401, 402, 403, 404, 409, 422, 429, 503))
async def create_generation(body: GenerationCreate, user: CurrentUser, key: IdempotencyKey, service: ServiceDep,
                            commands: CommandsDep) -> JSONResponse:
    """Request an image: the template's cost is held now and captured when the image is stored."""
    asked = GenerationRequest(user_id=user.user_id, key=key, template_id=body.template_id, variables=body.variables,
                              upload_id=body.input_upload_id, image_url=body.input_image_url)

    async def answer() -> Answer:
        requested = await request_generation(service.ledger, service.catalog, ServicePhotos(service, user.user_id),
                                             asked, policy=service.policy, at=service.clock(),
                                             hold_ttl=timedelta(seconds=service.api.generation_timeout_s),
                                             run=commands.run, lane=service.limits.commands,
                                             moderator=service.moderator, refused=service.metrics.refused)
        accepted = GenerationAccepted(generation_id=requested.generation_id, status="requested", cost=requested.cost,
                                      hold_id=str(requested.generation_id), position=requested.position)
        return 202, accepted.model_dump(mode="json")

    request = {"route": "POST /v1/generations", "body": body.model_dump(mode="json")}
    with service.limits.generations.slot(user.user_id):
        status, payload = await commands.once_async(caller(user.user_id), key, request, answer)
    return JSONResponse(payload, status_code=status)


@router.get("/generations/{generation_id}", responses=problems(401, 404, 409, 503))
async def get_generation(generation_id: UUID, user: CurrentUser, service: ServiceDep,
                         position: Visible) -> GenerationPublic:
    """One of the caller's generations: status and, once completed, the image."""
    # An id handed to another page or tab comes without a position: not found is said at the head only.
    row, _ = await look_up(service, lambda conn: user_generation(conn, user.user_id, generation_id), reached=position)
    if row is None:
        raise GenerationNotFound(f"you have no generation {generation_id}")
    return generation_shown(GenerationPublic, service, row)


@router.get("/gallery", responses=problems(401, 409, 503), dependencies=[WaitForPosition])
def get_gallery(user: CurrentUser, service: ServiceDep, cursor: Cursor = None,
                limit: Limit = 24) -> Page[GalleryItemPublic]:
    """The caller's finished images, newest first."""
    with service.reads.connect() as conn:
        rows = queries.user_gallery(conn, user.user_id, before=before(cursor), limit=limit + 1)
    # A taken-down image has no URL: the gallery card says so under an empty one.
    items = [generation_shown(GalleryItemPublic, service, {**r, "image_url": r["image_url"] or ""},
                              taken_down=TakedownPublic(category=r["taken_down"], note=r["takedown_note"] or "")
                              if r["taken_down"] else None) for r in rows[:limit]]
    next_cursor = str(rows[limit - 1]["position"]) if len(rows) > limit else None
    return Page[GalleryItemPublic](items=items, next_cursor=next_cursor)


@router.post("/generations/{generation_id}/share", response_model=ShareCreated,
             responses=problems(401, 404, 409, 422))
def share_generation(generation_id: UUID, user: CurrentUser, key: IdempotencyKey, service: ServiceDep,
                     commands: CommandsDep) -> JSONResponse:
    """Make a finished image public; the first share of an image earns the share bonus (a few a day)."""

    def answer() -> Answer:
        shared = shares.share_generation(service.ledger, service.policy, user_id=user.user_id,
                                         generation_id=generation_id, at=service.clock(), run=commands.run)
        created = ShareCreated(generation_id=generation_id, share_url=share_url(service, shared.token) or "",
                               bonus_credits=shared.bonus, position=shared.position)
        return 200, created.model_dump(mode="json")

    request = {"route": f"POST /v1/generations/{generation_id}/share"}
    status, payload = commands.once(caller(user.user_id), key, request, answer)
    return JSONResponse(payload, status_code=status)


@router.delete("/generations/{generation_id}/share", response_model=ShareRemoved, responses=problems(401, 404))
def unshare_generation(generation_id: UUID, user: CurrentUser, service: ServiceDep,
                       commands: CommandsDep) -> ShareRemoved:
    """Make a shared image private again: its share link stops working (a repeat changes nothing)."""
    removed = shares.unshare_generation(service.ledger, user_id=user.user_id, generation_id=generation_id,
                                        at=service.clock(), run=commands.run)
    return ShareRemoved(generation_id=generation_id, shared=False, position=removed.position)
