"""Admin routes: look at any wallet, grant promotional credits, adjust with a reason, freeze and unfreeze, read
and replay the alerts' webhook deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.http.controls import AlertDeliveryPublic, FreezeCreate
from api.http.deps import AdminUser, CommandsDep, IdempotencyKey, ServiceDep, Visible
from api.http.reads import look_up
from api.http.routers.wallet import wallet_public
from api.http.schemas import AdjustmentCreate, AdminWalletPublic, CommandAccepted, GrantCreate, GrantPublic, problems
from ledger import Outcome, UnknownReference
from service import admin as use_cases
from service import alert_delivery, spending
from service.commands import Answer, caller
from service.errors import WalletNotFound
from service.messages import UserId

router = APIRouter(prefix="/v1/admin", tags=["admin"])
TargetUser = Annotated[UserId, Path(description="the user whose wallet it is")]


@router.get("/wallets/{user_id}", responses=problems(401, 403, 404, 409, 503), operation_id="get_user_wallet")
async def get_wallet(admin: AdminUser, service: ServiceDep, position: Visible,
                     user_id: TargetUser) -> AdminWalletPublic:
    """Any user's wallet with its grants."""
    found, position = await look_up(service, lambda conn: use_cases.wallet_with_grants(conn, user_id, service.clock()),
                                    reached=position)
    if found is None:
        raise WalletNotFound(f"user {user_id} has no wallet")
    wallet = wallet_public(user_id, found.wallet, position)
    return AdminWalletPublic(**wallet.model_dump(), grants=[GrantPublic.model_validate(dict(g)) for g in found.grants])


def accepted(user_id: str, outcome: Outcome) -> Answer:
    """The 201 answer to an admin's command."""
    return 201, CommandAccepted(user_id=user_id, position=outcome.position, repeated=outcome.repeated
                                ).model_dump(mode="json")


@router.post("/wallets/{user_id}/grants", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422))
def grant_promo(body: GrantCreate, admin: AdminUser, key: IdempotencyKey, service: ServiceDep, commands: CommandsDep,
                user_id: TargetUser) -> JSONResponse:
    """Grant promotional credits to a user, expiring at ``expires_at`` if given."""
    request = {"route": f"POST /v1/admin/wallets/{user_id}/grants", "body": body.model_dump(mode="json")}
    status, payload = commands.once(caller(admin.user_id), key, request, lambda: accepted(
        user_id, use_cases.grant_promo(service.ledger, user_id=user_id, key=key, amount=body.amount,
                                       reason=body.reason, at=service.clock(), expires_at=body.expires_at,
                                       run=commands.run)))
    return JSONResponse(payload, status_code=status)


@router.post("/wallets/{user_id}/adjustments", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 402, 403, 409, 422), operation_id="adjust_wallet")
def adjust(body: AdjustmentCreate, admin: AdminUser, key: IdempotencyKey, service: ServiceDep, commands: CommandsDep,
           user_id: TargetUser) -> JSONResponse:
    """Add or take credits with a reason; taking more than is available is a 402."""
    request = {"route": f"POST /v1/admin/wallets/{user_id}/adjustments", "body": body.model_dump(mode="json")}
    status, payload = commands.once(caller(admin.user_id), key, request, lambda: accepted(user_id, use_cases.adjust(
        service.ledger, user_id=user_id, key=key, delta=body.delta, reason=body.reason, at=service.clock(),
        run=commands.run)))
    return JSONResponse(payload, status_code=status)


def _freeze(*, frozen: bool, body: FreezeCreate, admin: AdminUser, key: str, service: ServiceDep,
            commands: CommandsDep, user_id: str) -> JSONResponse:
    route = f"POST /v1/admin/wallets/{user_id}/{'freeze' if frozen else 'unfreeze'}"
    request = {"route": route, "body": body.model_dump(mode="json")}
    status, payload = commands.once(caller(admin.user_id), key, request, lambda: accepted(user_id, spending.freeze(
        service.ledger, user_id=user_id, reason=body.reason, frozen=frozen, at=service.clock(), run=commands.run)))
    return JSONResponse(payload, status_code=status)


@router.post("/wallets/{user_id}/freeze", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422), operation_id="freeze_wallet")
def freeze(body: FreezeCreate, admin: AdminUser, key: IdempotencyKey, service: ServiceDep, commands: CommandsDep,
           user_id: TargetUser) -> JSONResponse:
    """Freeze a wallet with a reason: its generations and recharges are refused with it until unfrozen."""
    return _freeze(frozen=True, body=body, admin=admin, key=key, service=service, commands=commands, user_id=user_id)


@router.post("/wallets/{user_id}/unfreeze", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422), operation_id="unfreeze_wallet")
def unfreeze(body: FreezeCreate, admin: AdminUser, key: IdempotencyKey, service: ServiceDep, commands: CommandsDep,
             user_id: TargetUser) -> JSONResponse:
    """Unfreeze a wallet with a reason: its generations and recharges are taken again."""
    return _freeze(frozen=False, body=body, admin=admin, key=key, service=service, commands=commands,
                   user_id=user_id)


@router.get("/alert-deliveries", responses=problems(401, 403, 422), operation_id="list_alert_deliveries")
def list_deliveries(admin: AdminUser, service: ServiceDep,
                    status: Annotated[alert_delivery.DeliveryStatus | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AlertDeliveryPublic]:
    """The alerts' webhook delivery log, newest first: attempts, the last error, when delivered."""
    return [AlertDeliveryPublic.model_validate(row)
            for row in alert_delivery.deliveries(service.engine, status=status, limit=limit)]


@router.post("/alert-deliveries/{alert_id}/replay", status_code=202, responses=problems(401, 403, 404),
             operation_id="replay_alert_delivery")
def replay_delivery(admin: AdminUser, service: ServiceDep,
                    alert_id: Annotated[str, Path(max_length=80, pattern=r"^[a-z-]+@[0-9a-f-]+$")]
                    ) -> AlertDeliveryPublic:
    """Deliver an alert again from its first attempt (after the receiver was fixed)."""
    found = alert_delivery.replay(service.engine, alert_id=alert_id, at=service.clock())
    if found is None:
        raise UnknownReference(f"no delivery of alert {alert_id}")
    return AlertDeliveryPublic.model_validate(found)
