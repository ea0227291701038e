"""Admin routes: look at any wallet, grant promotional credits, adjust with a reason."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select

from api.http.commands import command
from api.http.deps import AdminUser, IdempotencyKey, ServiceDep, Visible
from api.http.problems import Problem
from api.http.routers.wallet import wallet_view
from api.http.schemas import AdjustmentCreate, AdminWalletPublic, CommandAccepted, GrantCreate, GrantPublic, problems
from projections.balances import wallet_grants

router = APIRouter(prefix="/v1/admin", tags=["admin"])
UserId = Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")


@router.get("/wallets/{user_id}", responses=problems(401, 403, 404, 409, 503), operation_id="get_user_wallet")
def get_wallet(admin: AdminUser, service: ServiceDep, position: Visible,
               user_id: str = UserId) -> AdminWalletPublic:
    """Any user's wallet with its grants."""
    wallet, row = wallet_view(service, user_id, position)
    if row is None:
        raise Problem(404, "wallet-not-found", "Not found", f"user {user_id} has no wallet")
    with service.reads.connect() as conn:
        grants = conn.execute(select(wallet_grants).where(wallet_grants.c.wallet_id == row["wallet_id"])
                              .order_by(wallet_grants.c.version)).mappings().all()
    return AdminWalletPublic(**wallet.model_dump(), grants=[GrantPublic.model_validate(dict(g)) for g in grants])


@router.post("/wallets/{user_id}/grants", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422))
def grant_promo(body: GrantCreate, admin: AdminUser, key: IdempotencyKey, service: ServiceDep,
                user_id: str = UserId) -> JSONResponse:
    """Grant promotional credits to a user, expiring at ``expires_at`` if given."""

    def run() -> tuple[int, dict[str, Any]]:
        outcome = command(service, "grant_promo", lambda: service.ledger.grant_promo(
            user_id=user_id, reference=f"admin:{user_id}:{key}", amount=body.amount, reason=body.reason,
            at=service.clock(), expires_at=body.expires_at))
        return 201, CommandAccepted(user_id=user_id, position=outcome.position, repeated=outcome.repeated
                                    ).model_dump(mode="json")

    request = {"route": f"POST /v1/admin/wallets/{user_id}/grants", "body": body.model_dump(mode="json")}
    status, payload, _ = service.idempotency.once(admin.user_id, key, request, run)
    return JSONResponse(payload, status_code=status)


@router.post("/wallets/{user_id}/adjustments", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 402, 403, 409, 422), operation_id="adjust_wallet")
def adjust(body: AdjustmentCreate, admin: AdminUser, key: IdempotencyKey, service: ServiceDep,
           user_id: str = UserId) -> JSONResponse:
    """Add or take credits with a reason; taking more than is available is a 402."""

    def run() -> tuple[int, dict[str, Any]]:
        outcome = command(service, "adjust", lambda: service.ledger.adjust(
            user_id=user_id, reference=f"admin:{user_id}:{key}", delta=body.delta, reason=body.reason,
            at=service.clock()))
        return 201, CommandAccepted(user_id=user_id, position=outcome.position, repeated=outcome.repeated
                                    ).model_dump(mode="json")

    request = {"route": f"POST /v1/admin/wallets/{user_id}/adjustments", "body": body.model_dump(mode="json")}
    status, payload, _ = service.idempotency.once(admin.user_id, key, request, run)
    return JSONResponse(payload, status_code=status)
