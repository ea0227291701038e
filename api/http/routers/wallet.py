"""The caller's wallet and statement, from the projections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.http.deps import CurrentUser, Cursor, Limit, ServiceDep, Visible, WaitForPosition, before
from api.http.schemas import Lifetime, NextExpiry, Page, StatementLinePublic, WalletPublic, problems
from projections import queries

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
def get_wallet(user: CurrentUser, service: ServiceDep, position: Visible) -> WalletPublic:
    """The caller's credits: available now, held, by source, and over the wallet's life."""
    with service.reads.connect() as conn:
        row = queries.wallet(conn, user.user_id, service.clock())
    return wallet_public(user.user_id, row, position)


@router.get("/wallet/statement", responses=problems(401, 409, 503), dependencies=[WaitForPosition])
def get_statement(user: CurrentUser, service: ServiceDep, cursor: Cursor = None,
                  limit: Limit = 50) -> Page[StatementLinePublic]:
    """The caller's statement, newest first: one line per wallet event with the running balance."""
    with service.reads.connect() as conn:
        rows = queries.statement(conn, user.user_id, before=before(cursor), limit=limit + 1)
    items = [StatementLinePublic.model_validate(dict(r)) for r in rows[:limit]]
    next_cursor = str(items[-1].position) if len(rows) > limit else None
    return Page[StatementLinePublic](items=items, next_cursor=next_cursor)
