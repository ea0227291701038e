"""The embedded default's shortcuts for trying the studio on one machine: sign in as anyone, buy a
pack through the real signed payments webhook. Only on the untouched embedded default listening on
loopback (``service.settings.demo_refused``); anywhere else these routes answer 404."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.http.auth import issue_token
from api.http.deps import CommandsDep, CurrentUser, IdempotencyKey, ServiceDep
from api.http.problems import Problem
from api.http.routers.webhooks import deliver
from api.http.schemas import DemoPurchaseAccepted, DemoPurchaseCreate, DevToken, DevTokenCreate, problems
from api.http.signatures import parse_header, sign
from service.container import Service
from service.errors import IdempotencyKeyReused
from service.settings import demo_refused

router = APIRouter(prefix="/v1/dev", tags=["dev"])


def require_demo(service: Service) -> None:
    """A 404 where the demo is off: there tokens and payments come from the platform."""
    if (reason := demo_refused(service.store, service.api)) is not None:
        raise Problem(404, "not-found", "Not Found", "this route exists on the untouched embedded default "
                      f"listening on loopback only; here it is off: {reason}")


@router.post("/token", responses=problems(404, 422))
def create_dev_token(body: DevTokenCreate, service: ServiceDep) -> DevToken:
    """A bearer token for any user, as `studio-ledger token` prints it (embedded default only)."""
    require_demo(service)
    api = service.api
    issued = datetime.now(UTC).replace(microsecond=0)
    ttl = timedelta(minutes=api.token_ttl_minutes)
    roles = (body.role,) if body.role in ("admin", "templates", "moderation") else ()
    token = issue_token(api.jwt_secret.get_secret_value(), body.user_id, issuer=api.jwt_issuer,
                        audience=api.jwt_audience, roles=roles, ttl=ttl, now=issued)
    return DevToken(token=token, expires_at=issued + ttl)


@router.post("/purchase", response_model=DemoPurchaseAccepted, responses=problems(401, 404, 409, 422))
async def create_demo_purchase(body: DemoPurchaseCreate, user: CurrentUser, key: IdempotencyKey,
                               service: ServiceDep, commands: CommandsDep) -> JSONResponse:
    """Buy a pack for the caller without money (embedded default only): a `CreditPackPurchased` message
    signed with the webhook secret goes through the payments webhook's own checks and idempotency.

    The payment id comes from the caller and the Idempotency-Key, so a retry is the same payment."""
    require_demo(service)
    pack = service.policy.pack(body.pack_id)
    if pack is None:
        known = ", ".join(p.id for p in service.policy.packs)
        raise Problem(422, "unknown-pack", "Unknown pack", f"no pack {body.pack_id!r} is for sale; packs: {known}",
                      field="pack_id")
    payment_id = "demo-" + hashlib.sha256(f"{user.user_id}\0{key}".encode()).hexdigest()[:32]
    message = {"type": "CreditPackPurchased", "version": 1, "payment_id": payment_id, "user_id": user.user_id,
               "pack_id": pack.id, "amount_minor": pack.price_minor, "currency": pack.currency}
    raw = json.dumps(message, separators=(",", ":")).encode()
    now = int(time.time())
    signed = parse_header(sign(service.api.webhook_secret.get_secret_value(), raw, now), now=now, tolerance=0)
    # The webhook's keys are the payment flow's: one per payment, never a caller's own key.
    try:
        status, answer = await deliver(service, commands, raw, signed, payment_id)
    except IdempotencyKeyReused:
        raise IdempotencyKeyReused(key, f"Idempotency-Key {key!r} was already used to buy another pack") from None
    accepted = DemoPurchaseAccepted(**answer, payment_id=payment_id, pack_id=pack.id, credits=pack.credits)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=status)
