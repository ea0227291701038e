"""Generations: request one from a template, follow it, see the gallery, share an image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

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
from generation.ports import UploadInfo
from ledger import GenerationNotFound
from projections import queries
from service import shares
from service.commands import Answer, caller
from service.container import Service, is_embedded
from service.generations import GenerationRequest, request_generation, user_generation

router = APIRouter(prefix="/v1", tags=["generations"])


def share_url(service: Service, token: str | None) -> str | None:
    """The public page of a shared image."""
    return f"{service.api.public_url.rstrip('/')}/s/{token}" if token else None


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


@dataclass(frozen=True)
class ServicePhotos:
    """A request's photo as the service reads it, awaited on the event loop: the caller's uploads from the image
    store (in the store's lane), a URL through the fetcher a worker uses (plain http on the embedded default
    only), one at a time per learner and within the fetch lane."""

    service: Service
    user_id: str

    async def uploads(self, owner: str) -> Sequence[UploadInfo]:
        """The uploads ``owner`` keeps."""
        assert self.service.images is not None
        return await self.service.images.uploads(owner)

    async def fetch(self, url: str) -> object:
        """The photo at ``url``, or ``FetchRefused``; ``TooBusy`` while the learner's fetches are all in flight."""
        service = self.service
        fetcher = service.media.fetcher(allow_http=is_embedded(service.store, service.api))
        with service.limits.fetches.slot(self.user_id):
            return await service.limits.fetch.run(fetcher.fetch, url)


@router.get("/generations/{generation_id}", responses=problems(401, 404, 409, 503))
async def get_generation(generation_id: UUID, user: CurrentUser, service: ServiceDep,
                         position: Visible) -> GenerationPublic:
    """One of the caller's generations: status and, once completed, the image."""
    # An id handed to another page or tab comes without a position: not found is said at the head only.
    row, _ = await look_up(service, lambda conn: user_generation(conn, user.user_id, generation_id), reached=position)
    if row is None:
        raise GenerationNotFound(f"you have no generation {generation_id}")
    fields = {k: row[k] for k in GenerationPublic.model_fields if k in row}
    return GenerationPublic(**{**fields, "share_url": share_url(service, row["share_token"]),
                               "image_url": signed(service, row["image_url"]),
                               "thumbnail_url": signed(service, row["thumbnail_url"])})


@router.get("/gallery", responses=problems(401, 409, 503), dependencies=[WaitForPosition])
def get_gallery(user: CurrentUser, service: ServiceDep, cursor: Cursor = None,
                limit: Limit = 24) -> Page[GalleryItemPublic]:
    """The caller's finished images, newest first."""
    with service.reads.connect() as conn:
        rows = queries.user_gallery(conn, user.user_id, before=before(cursor), limit=limit + 1)
    items = [GalleryItemPublic(**{**{k: r[k] for k in GalleryItemPublic.model_fields if k in r},
                                  "share_url": share_url(service, r["share_token"]),
                                  "image_url": signed(service, r["image_url"]) or "",
                                  "thumbnail_url": signed(service, r["thumbnail_url"]),
                                  "taken_down": TakedownPublic(category=r["taken_down"], note=r["takedown_note"] or "")
                                  if r["taken_down"] else None}) for r in rows[:limit]]
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
