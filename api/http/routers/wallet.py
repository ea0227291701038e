"""The caller's wallet and statement, from the projections; their spend controls, from the wallet itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.http.controls import AlertPublic, AutoTopUpPublic, WalletSettingsPublic, WalletSettingsUpdate
from api.http.deps import CommandsDep, CurrentUser, Cursor, Limit, ServiceDep, Visible, WaitForPosition, before
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
from media.templates import UnknownTemplate
from projections import queries
from projections.alerts import alerts_of
from projections.descriptions import Subjects, named_generation
from service import spending
from service.container import Service
from service.errors import RechargesUnavailable
from service.topups import TopUpTerms, set_auto_top_up

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


def settings_public(service: Service, user_id: str) -> WalletSettingsPublic:
    """The caller's spend controls as the wallet keeps them now."""
    found = spending.settings_of(service.ledger, service.policy, user_id=user_id, at=service.clock())
    plan = service.ledger.top_up_plan(user_id)
    auto = AutoTopUpPublic(pack_id=plan.pack_id, below=plan.below, monthly_cap_minor=plan.monthly_cap_minor,
                           paused=plan.paused or None) if plan is not None and plan.pack_id else None
    return WalletSettingsPublic(daily_spend_cap=found.daily_spend_cap, low_balance_below=found.low_balance_below,
                                auto_top_up=auto,
                                max_daily_cap=found.max_daily_cap,
                                spent_today=found.spent_today, resets_at=found.resets_at, frozen=bool(found.frozen),
                                frozen_reason=found.frozen or None)


@router.get("/wallet/settings", responses=problems(401))
def get_settings(user: CurrentUser, service: ServiceDep) -> WalletSettingsPublic:
    """The caller's spend controls: their daily cap, what today has spent, when the day ends, a freeze."""
    return settings_public(service, user.user_id)


@router.put("/wallet/settings", responses=problems(401, 422, 503))
def put_settings(body: WalletSettingsUpdate, user: CurrentUser, service: ServiceDep,
                 commands: CommandsDep) -> WalletSettingsPublic:
    """Set the caller's daily spend cap (null: none), within the policy's maximum; the same body again
    changes nothing."""
    auto = body.auto_top_up
    terms = None if auto is None else TopUpTerms(pack_id=auto.pack_id, below=auto.below,
                                                 monthly_cap_minor=auto.monthly_cap_minor)
    if terms is not None and service.platform is None:
        raise RechargesUnavailable("auto top-up needs the platform's wallet, which is not configured here")
    set_auto_top_up(service.ledger, service.policy, user_id=user.user_id, terms=terms, at=service.clock(),
                    run=commands.run)
    spending.change_settings(service.ledger, service.policy, user_id=user.user_id,
                             daily_spend_cap=body.daily_spend_cap, low_balance_below=body.low_balance_below,
                             at=service.clock(), run=commands.run)
    return settings_public(service, user.user_id)


@router.get("/wallet/alerts", responses=problems(401, 409, 503), dependencies=[WaitForPosition])
def get_alerts(user: CurrentUser, service: ServiceDep, cursor: Cursor = None, limit: Limit = 20) -> Page[AlertPublic]:
    """The caller's alerts, newest first: each told once, whatever raced or restarted."""
    with service.reads.connect() as conn:
        rows = alerts_of(conn, user.user_id, before=before(cursor), limit=limit + 1)
    items = [AlertPublic.model_validate(dict(row)) for row in rows[:limit]]
    return Page[AlertPublic](items=items, next_cursor=str(items[-1].position) if len(rows) > limit else None)
