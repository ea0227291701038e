"""Generations: request one from a template, follow it, see the gallery, share an image."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.http.commands import command
from api.http.deps import CurrentUser, Cursor, IdempotencyKey, Limit, ServiceDep, WaitForPosition, before
from api.http.problems import Problem
from api.http.routers.media import signed
from api.http.routers.uploads import check_upload
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
from generation.fetch import FetchRefused
from generation.templates import UPLOAD_PREFIX, VariableError
from projections import queries
from service.container import Service, is_embedded
from service.shares import grant_share_bonus

router = APIRouter(prefix="/v1", tags=["generations"])


def share_url(service: Service, token: str | None) -> str | None:
    """The public page of a shared image."""
    return f"{service.api.public_url.rstrip('/')}/s/{token}" if token else None


@router.post("/generations", status_code=202, response_model=GenerationAccepted,
             responses=problems(401, 402, 404, 409, 422))
def create_generation(body: GenerationCreate, user: CurrentUser, key: IdempotencyKey,
                      service: ServiceDep) -> JSONResponse:
    """Request an image: the template's cost is held now and captured when the image is stored."""

    def run() -> tuple[int, dict[str, Any]]:
        template = service.catalog.get(body.template_id)
        photo = input_photo(service, user.user_id, body)
        variables = template.validate_variables(body.variables, photo)
        if body.input_upload_id and template.needs_input_image:
            check_upload(service, user.user_id, body.input_upload_id)
        elif body.input_image_url and template.needs_input_image:
            check_photo_url(service, body.input_image_url)
        outcome = command(service, "request_generation", lambda: service.ledger.request_generation(
            user_id=user.user_id, request_key=key, template_id=template.id, template_version=template.version,
            variables=variables, input_image=photo, cost=template.cost, at=service.clock(),
            hold_ttl=timedelta(seconds=service.api.generation_timeout_s)))
        accepted = GenerationAccepted(generation_id=outcome.value, status="requested", cost=template.cost,
                                      hold_id=str(outcome.value), position=outcome.position)
        return 202, accepted.model_dump(mode="json")

    request = {"route": "POST /v1/generations", "body": body.model_dump(mode="json")}
    status, payload, _ = service.idempotency.once(user.user_id, key, request, run)
    return JSONResponse(payload, status_code=status)


def input_photo(service: Service, user_id: str, body: GenerationCreate) -> str | None:
    """The request's photo reference: ``upload:<id>`` or the URL; at most one of the two fields."""
    if body.input_upload_id and body.input_image_url:
        raise VariableError("input_upload_id", "send the photo once: input_upload_id or input_image_url, not both")
    return f"{UPLOAD_PREFIX}{body.input_upload_id}" if body.input_upload_id else body.input_image_url


def check_photo_url(service: Service, url: str) -> None:
    """Fetch the photo at ``url`` as a worker will (no address inside our network, a real image, bounded)."""
    try:
        service.media.fetcher(allow_http=is_embedded(service.store, service.api)).fetch(url)
    except FetchRefused as error:
        raise VariableError("input_image_url", str(error)) from error


@router.get("/generations/{generation_id}", responses=problems(401, 404, 409, 503), dependencies=[WaitForPosition])
def get_generation(generation_id: UUID, user: CurrentUser, service: ServiceDep) -> GenerationPublic:
    """One of the caller's generations: status and, once completed, the image."""
    with service.reads.connect() as conn:
        row = queries.generation(conn, generation_id)
    if row is None or row["user_id"] != user.user_id:
        raise Problem(404, "generation-not-found", "Not found", f"you have no generation {generation_id}")
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
                                  "thumbnail_url": signed(service, r["thumbnail_url"])}) for r in rows[:limit]]
    next_cursor = str(rows[limit - 1]["position"]) if len(rows) > limit else None
    return Page[GalleryItemPublic](items=items, next_cursor=next_cursor)


@router.post("/generations/{generation_id}/share", response_model=ShareCreated,
             responses=problems(401, 404, 409, 422))
def share_generation(generation_id: UUID, user: CurrentUser, key: IdempotencyKey,
                     service: ServiceDep) -> JSONResponse:
    """Make a finished image public; the first share of an image earns the share bonus (a few a day)."""

    def run() -> tuple[int, dict[str, Any]]:
        at = service.clock()
        shared = command(service, "share_generation", lambda: service.ledger.share_generation(
            generation_id=generation_id, user_id=user.user_id, token=secrets.token_urlsafe(9), at=at))
        bonus, position = _share_bonus(service, user.user_id, generation_id)
        created = ShareCreated(generation_id=generation_id, share_url=share_url(service, shared.value) or "",
                               bonus_credits=bonus, position=max(shared.position, position))
        return 200, created.model_dump(mode="json")

    request = {"route": f"POST /v1/generations/{generation_id}/share"}
    status, payload, _ = service.idempotency.once(user.user_id, key, request, run)
    return JSONResponse(payload, status_code=status)


@router.delete("/generations/{generation_id}/share", response_model=ShareRemoved, responses=problems(401, 404))
def unshare_generation(generation_id: UUID, user: CurrentUser, service: ServiceDep) -> ShareRemoved:
    """Make a shared image private again: its share link stops working (a repeat changes nothing)."""
    removed = command(service, "unshare_generation", lambda: service.ledger.unshare_generation(
        generation_id=generation_id, user_id=user.user_id, at=service.clock()))
    return ShareRemoved(generation_id=generation_id, shared=False, position=removed.position)


def _share_bonus(service: Service, user_id: str, generation_id: UUID) -> tuple[int, int]:
    # The bonus this request earned: none when the share (and so its bonus) was made before.
    if service.policy.share.credits <= 0:
        return 0, 0
    granted = command(service, "grant_share_bonus", lambda: grant_share_bonus(
        service.ledger, service.policy, user_id=user_id, generation_id=generation_id))
    return (0 if granted.repeated else int(granted.value)), granted.position
