"""Requesting a generation: the template and its variables checked, then the learner's credits, then their
photo as a worker will read it (the dear check last), then the template's cost held and the request recorded
in one ledger command."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread
from sqlalchemy import Connection, RowMapping

from ledger import DailySpendCapReached, InsufficientCredits, Ledger
from media.compositor import check_printable
from media.fetch import FetchRefused
from media.moderation import Flag, Moderator
from media.moderation import ModerationUnavailable as ModeratorDown
from media.ports import UploadInfo
from media.templates import UPLOAD_PREFIX, Template, TemplateCatalog, VariableError
from media.threads import Lane
from projections import queries
from service import tracing
from service.commands import Run, direct
from service.errors import ModerationUnavailable, TextRefused
from service.policy import Policy
from service.spending import refused_past_cap


class Photos(Protocol):
    """Where a request's photo is checked before any credit is held; awaited on the event loop (the blocking
    work runs in the photo's own lanes, never in a thread that waits for the loop)."""

    async def uploads(self, owner: str) -> Sequence[UploadInfo]:
        """The uploads ``owner`` keeps."""
        ...

    async def fetch(self, url: str) -> object:
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


async def request_generation(ledger: Ledger, catalog: TemplateCatalog, photos: Photos, request: GenerationRequest, *,
                             policy: Policy, at: datetime, hold_ttl: timedelta, run: Run = direct,
                             lane: Lane | None = None, moderator: Moderator | None = None,
                             refused: Callable[[Flag], None] = lambda flag: None) -> Requested:
    """Hold the template's cost and record the request; ``UnknownTemplate``, ``VariableError`` (naming the
    field), ``TextRefused`` (moderation, told to ``refused`` first), ``SpendCapReached`` (past the learner's
    daily cap, counted on the policy's days) or a ledger error (``InsufficientCredits``, ``FrozenWallet``)
    when it cannot be. The ledger is read and written in worker threads (of ``lane``, else the loop's default
    ones) that wait for nothing else."""
    blocking = lane.run if lane is not None else anyio.to_thread.run_sync
    template = catalog.get(request.template_id)
    photo = input_photo(request)
    variables = template.validate_variables(request.variables, photo)
    check_printable(template, variables)  # a character no font draws is refused here, never failed in the worker
    if moderator is not None:  # before anything is held or fetched: refused words cost the learner nothing
        await moderate(moderator, learner_texts(template, variables), refused=refused)
    day = policy.day_of(at)
    trace = tracing.traceparent()  # the request's span, read on the loop, where its context is current
    try:
        if photo and template.needs_input_image:  # a photo costs a listing or a fetch: only for who can pay
            await blocking(partial(check_credits, ledger, request.user_id, template.cost, at=at, day=day))
            if request.upload_id:
                await check_upload(photos, request.user_id, request.upload_id, at)
            elif request.image_url:
                await check_photo_url(photos, request.image_url)
        outcome = await blocking(lambda: run("request_generation", lambda: ledger.request_generation(
            user_id=request.user_id, request_key=request.key, template_id=template.id,
            template_version=template.version, variables=variables, input_image=photo, cost=template.cost, at=at,
            hold_ttl=hold_ttl, day=day, trace=trace)))
    except DailySpendCapReached as error:
        raise refused_past_cap(policy, error) from error
    return Requested(generation_id=outcome.value, cost=template.cost, position=outcome.position,
                     repeated=outcome.repeated)


async def moderate(moderator: Moderator, texts: Mapping[str, str], *, refused: Callable[[Flag], None]) -> None:
    """``TextRefused`` naming the first field ``moderator`` refuses (told to ``refused``, for the metrics);
    ``ModerationUnavailable`` when it cannot tell."""
    try:
        flag = await moderator.check(texts)
    except ModeratorDown as error:
        raise ModerationUnavailable(str(error)) from error
    if flag is not None:
        refused(flag)
        raise TextRefused(flag.field, flag.category, flag.rule)


def learner_texts(template: Template, variables: Mapping[str, str]) -> dict[str, str]:
    """The words the learner typed, by field: the template's text variables (choices and colours are its own)."""
    return {v.name: variables[v.name] for v in template.variables if v.type == "text" and variables.get(v.name)}


def check_credits(ledger: Ledger, user_id: str, cost: int, *, at: datetime, day: str) -> None:
    """``InsufficientCredits`` when ``user_id`` has fewer than ``cost`` credits available at ``at`` (or
    ``FrozenWallet``, or ``DailySpendCapReached`` past their cap on ``day``): the hold would refuse them
    anyway, and this is known before anything dear is done."""
    wallet = ledger.wallet(user_id)
    if wallet is not None:
        wallet.check_not_frozen("spending credits")
        wallet.check_spend(cost, day)
    available = wallet.available(at) if wallet is not None else 0
    if available < cost:
        raise InsufficientCredits(user_id, cost, available)


def input_photo(request: GenerationRequest) -> str | None:
    """The request's photo reference: ``upload:<id>`` or the URL; at most one of the two fields."""
    if request.upload_id and request.image_url:
        raise VariableError("input_upload_id", "send the photo once: input_upload_id or input_image_url, not both")
    return f"{UPLOAD_PREFIX}{request.upload_id}" if request.upload_id else request.image_url


async def check_upload(photos: Photos, owner: str, upload_id: str, at: datetime) -> None:
    """Refuse an upload id that is not one of ``owner``'s current uploads (another user's is unknown too)."""
    found = [u for u in await photos.uploads(owner) if u.upload_id == upload_id]
    if not found or found[0].expires_at <= at:
        raise VariableError("input_upload_id", f"you have no upload {upload_id} (it may have expired): upload the "
                                               "photo again")


async def check_photo_url(photos: Photos, url: str) -> None:
    """Fetch the photo at ``url`` as a worker will (no address inside our network, a real image, bounded)."""
    try:
        await photos.fetch(url)
    except FetchRefused as error:
        raise VariableError("input_image_url", str(error)) from error


def user_generation(conn: Connection, user_id: str, generation_id: UUID) -> RowMapping | None:
    """The projected row of one of ``user_id``'s generations; None for anyone else's, as for one not there."""
    row = queries.generation(conn, generation_id)
    return row if row is not None and row["user_id"] == user_id else None
