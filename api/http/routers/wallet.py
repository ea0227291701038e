"""The caller's wallet and statement, from the projections."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.http.deps import CurrentUser, Cursor, Limit, ServiceDep, Visible, WaitForPosition, before
from api.http.reads import look_up
from api.http.schemas import (
    Lifetime,
    NextExpiry,
    Page,
    StatementGeneration,
    StatementLinePublic,
    WalletPublic,
    problems,
)
from generation.templates import UnknownTemplate
from projections import queries
from projections.descriptions import Subjects, named_generation

router = APIRouter(prefix="/v1", tags=["wallet"])


def wallet_public(user_id: str, row: dict[str, Any] | None, position: int) -> WalletPublic:
    """The wallet of ``user_id`` from its projected row (an empty one if they never had credits)."""
    if row is None:
        empty = Lifetime(purchased=0, granted=0, spent=0, expired=0, clawed_back=0)
        return WalletPublic(user_id=user_id, available=0, held=0, by_source={}, lifetime=empty, position=position)
    lifetime = Lifetime(purchased=row["purchased"], granted=row["granted"], spent=row["spent"],
                        expired=row["expired"], clawed_back=row["clawed_back"])
    soonest = row["next_expiry"]
    expiry = NextExpiry(credits=soonest[0], expires_at=soonest[1]) if soonest is not None else None
    return WalletPublic(user_id=user_id, available=row["available"], held=row["held"], by_source=row["by_source"],
                        lifetime=lifetime, next_expiry=expiry, position=position)


@router.get("/wallet", responses=problems(401, 409, 503))
async def get_wallet(user: CurrentUser, service: ServiceDep, position: Visible) -> WalletPublic:
    """The caller's credits: available now, held, by source, and over the wallet's life."""
    # No wallet yet may be a first purchase not projected yet (the platform reads after its webhook); a new
    # learner's empty wallet is still the answer when the projections lag longer than the bound.
    row, position = await look_up(service, lambda conn: queries.wallet(conn, user.user_id, service.clock()),
                                  reached=position, when_behind="answer")
    return wallet_public(user.user_id, row, position)


@router.get("/wallet/statement", responses=problems(401, 409, 503), dependencies=[WaitForPosition])
def get_statement(user: CurrentUser, service: ServiceDep, cursor: Cursor = None,
                  limit: Limit = 50) -> Page[StatementLinePublic]:
    """The caller's statement, newest first: one line per wallet event with the running balance."""
    with service.reads.connect() as conn:
        rows = queries.statement(conn, user.user_id, before=before(cursor), limit=limit + 1)
        about = {id(r): about_generation(r) for r in rows[:limit]}
        found = queries.users_generations(conn, user.user_id, sorted({g for g in about.values() if g is not None}))
    items = []
    for row in rows[:limit]:
        generation_id = about[id(row)]
        generation = found.get(generation_id) if generation_id is not None else None
        named = None if generation is None else StatementGeneration(
            generation_id=generation["generation_id"], template_id=generation["template_id"],
            template_version=generation["template_version"], text=learners_text(service, generation),
            template_titles=version_titles(service, generation),
            image_deleted=generation["status"] == "completed" and not generation["image_url"])
        items.append(StatementLinePublic.model_validate({**row, "generation": named}))
    next_cursor = str(items[-1].position) if len(rows) > limit else None
    return Page[StatementLinePublic](items=items, next_cursor=next_cursor)


def learners_text(service: Any, generation: Any) -> str:
    """The learner's main text in a generation, as the template version that made it names its fields."""
    try:
        made_by = [service.catalog.version(generation["template_id"], generation["template_version"])]
    except UnknownTemplate:  # a version the ledger never published: its first text will do
        made_by = []
    return Subjects.from_templates(made_by).text(generation["template_id"], generation["variables"])


def version_titles(service: Any, generation: Any) -> dict[str, str]:
    """The title of the template version that made a generation, in each language it has ({} if unknown)."""
    try:
        template = service.catalog.version(generation["template_id"], generation["template_version"])
    except UnknownTemplate:
        return {}
    return {"en": template.title, **{lang: words.title for lang, words in template.translations.items()}}


def about_generation(row: Any) -> UUID | None:
    """The generation a statement line is about (``named_generation``), if it names one of a valid id."""
    named = named_generation(row["type"], str(row["reference"]), row["details"].get("meta"))
    try:
        return UUID(named) if named else None
    except ValueError:  # a hold placed outside a generation, under an id of its own
        return None
