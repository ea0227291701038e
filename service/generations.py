"""Requesting a generation: the template and its variables checked, the learner's photo checked as a worker
will read it, then the template's cost held and the request recorded in one ledger command."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Connection, RowMapping

from generation.fetch import FetchRefused
from generation.ports import UploadInfo
from generation.templates import UPLOAD_PREFIX, TemplateCatalog, VariableError
from ledger import GenerationNotFound, Ledger
from projections import queries
from service.commands import Run, direct


class Photos(Protocol):
    """Where a request's photo is checked before any credit is held."""

    def uploads(self, owner: str) -> Sequence[UploadInfo]:
        """The uploads ``owner`` keeps."""
        ...

    def fetch(self, url: str) -> object:
        """The photo at ``url``, fetched as a worker will; ``FetchRefused`` says why not."""
        ...


@dataclass(frozen=True)
class GenerationRequest:
    """What a learner asks for: a template, its variables and at most one photo (an upload or a URL)."""

    user_id: str
    key: str  # the request's idempotency key: the generation's id derives from it
    template_id: str
    variables: dict[str, Any]
    upload_id: str | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class Requested:
    """A recorded request: the generation, the credits held for it and the ledger position."""

    generation_id: UUID
    cost: int
    position: int
    repeated: bool


def request_generation(ledger: Ledger, catalog: TemplateCatalog, photos: Photos, request: GenerationRequest, *,
                       at: datetime, hold_ttl: timedelta, run: Run = direct) -> Requested:
    """Hold the template's cost and record the request; ``UnknownTemplate``, ``VariableError`` (naming the
    field) or a ledger error (``InsufficientCredits``) when it cannot be."""
    template = catalog.get(request.template_id)
    photo = input_photo(request)
    variables = template.validate_variables(request.variables, photo)
    if request.upload_id and template.needs_input_image:
        check_upload(photos, request.user_id, request.upload_id, at)
    elif request.image_url and template.needs_input_image:
        check_photo_url(photos, request.image_url)
    outcome = run("request_generation", lambda: ledger.request_generation(
        user_id=request.user_id, request_key=request.key, template_id=template.id,
        template_version=template.version, variables=variables, input_image=photo, cost=template.cost, at=at,
        hold_ttl=hold_ttl))
    return Requested(generation_id=outcome.value, cost=template.cost, position=outcome.position,
                     repeated=outcome.repeated)


def input_photo(request: GenerationRequest) -> str | None:
    """The request's photo reference: ``upload:<id>`` or the URL; at most one of the two fields."""
    if request.upload_id and request.image_url:
        raise VariableError("input_upload_id", "send the photo once: input_upload_id or input_image_url, not both")
    return f"{UPLOAD_PREFIX}{request.upload_id}" if request.upload_id else request.image_url


def check_upload(photos: Photos, owner: str, upload_id: str, at: datetime) -> None:
    """Refuse an upload id that is not one of ``owner``'s current uploads (another user's is unknown too)."""
    found = [u for u in photos.uploads(owner) if u.upload_id == upload_id]
    if not found or found[0].expires_at <= at:
        raise VariableError("input_upload_id", f"you have no upload {upload_id} (it may have expired): upload the "
                                               "photo again")


def check_photo_url(photos: Photos, url: str) -> None:
    """Fetch the photo at ``url`` as a worker will (no address inside our network, a real image, bounded)."""
    try:
        photos.fetch(url)
    except FetchRefused as error:
        raise VariableError("input_image_url", str(error)) from error


def user_generation(conn: Connection, user_id: str, generation_id: UUID) -> RowMapping:
    """The projected row of one of ``user_id``'s generations; ``GenerationNotFound`` for anyone else's."""
    row = queries.generation(conn, generation_id)
    if row is None or row["user_id"] != user_id:
        raise GenerationNotFound(f"you have no generation {generation_id}")
    return row
