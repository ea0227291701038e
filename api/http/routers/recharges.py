"""Recharges from the platform wallet: the terms, a recharge asked for, and where it stands.

A recharge is recorded here and driven to its end by the sweeper (never on the request path): the answer
to POST is ``requested``, and GET follows it to ``confirmed`` (credits granted), ``declined`` or ``lapsed``."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.http.deps import CommandsDep, CurrentUser, IdempotencyKey, ServiceDep
from api.http.recharge_schemas import RechargeCreate, RechargePublic, RechargeTermsPublic
from api.http.schemas import problems
from ledger import MAX_MINOR
from service import recharges
from service.commands import Answer, caller
from service.errors import RechargesUnavailable

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


def public(view: recharges.RechargeView) -> RechargePublic:
    """A recharge as the API shows it."""
    return RechargePublic(recharge_id=str(view.recharge_id), status=view.status, amount_minor=view.amount_minor,
                          currency=view.currency, credits=view.credits, detail=view.detail, attempts=view.attempts,
                          position=view.position)


@router.get("/recharge", responses=problems(401))
def get_terms(user: CurrentUser, service: ServiceDep) -> RechargeTermsPublic:
    """What recharging gives: the caller's platform balance (when the platform tells it), the rate, the bounds."""
    rate = service.policy.redemption
    balance = service.platform.balance(user.user_id) if service.platform is not None else None
    step = recharges.recharge_step(service.policy)
    top = min(MAX_MINOR, balance.balance_minor) if balance is not None else MAX_MINOR
    return RechargeTermsPublic(available=service.platform is not None,
                               balance_minor=balance.balance_minor if balance is not None else None,
                               currency=rate.currency, demo=balance.demo if balance is not None else False,
                               credits_per_major_unit=rate.credits_per_major_unit, minor_per_major=rate.minor_per_major,
                               min_amount_minor=step, step_minor=step, max_amount_minor=top - top % step)


@router.post("/recharges", status_code=202, response_model=RechargePublic, responses=problems(401, 403, 409, 422, 503))
def create_recharge(body: RechargeCreate, user: CurrentUser, key: IdempotencyKey, service: ServiceDep,
                    commands: CommandsDep) -> JSONResponse:
    """Convert platform wallet balance to credits: recorded now, the platform asked by the sweeper."""
    if service.platform is None:
        raise RechargesUnavailable("recharges are not taken here: no platform wallet is configured")

    def answer() -> Answer:
        view = recharges.request_recharge(
            service.ledger, service.policy, user_id=user.user_id, key=key, amount_minor=body.amount_minor,
            currency=body.currency, at=service.clock(), deadline=service.recharge_deadline, run=commands.run)
        return 202, public(view).model_dump(mode="json")

    request = {"route": "POST /v1/wallet/recharges", "body": body.model_dump(mode="json")}
    status, payload = commands.once(caller(user.user_id), key, request, answer)
    if service.sweeper is not None:  # the sweeper in this process drives it now, not at its next turn
        service.sweeper.nudge()
    return JSONResponse(payload, status_code=status)


@router.get("/recharges/{recharge_id}", responses=problems(401, 404))
def get_recharge(recharge_id: UUID, user: CurrentUser, service: ServiceDep) -> RechargePublic:
    """One of the caller's recharges as the ledger has it now."""
    return public(recharges.recharge_of(service.ledger, user_id=user.user_id, recharge=recharge_id))
