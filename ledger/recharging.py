"""The recharge saga's command steps: a recharge recorded once per id, and its end recorded once, the
credits of a confirmed one granted in the same unit of work (a ``redemption`` under its debit id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ledger.errors import ConflictingCommand, UnknownReference
from ledger.names import IdKind, derived_id
from ledger.recharge import Recharge, RechargeStatus
from ledger.steps import existing_wallet, grant_credits, open_wallet, require
from ledger.topup import TopUpPlan
from ledger.unit import Unit
from ledger.values import Money, digest
from ledger.wallet import Wallet

Ending = Literal["confirmed", "declined", "attempted", "lapsed"]


def request_recharge(unit: Unit, *, user_id: str, recharge_id: UUID, value: Money, credits: int, deadline: datetime,
                     at: datetime) -> RechargeStatus:
    """Record a recharge once per id (refused on a frozen wallet); a repeat answers its status now."""
    fingerprint = digest({"user_id": user_id, "value": [value.minor, value.currency], "credits": credits})
    found = unit.get(recharge_id, creating=True)
    if isinstance(found, Recharge):
        if found.digest != fingerprint:
            raise ConflictingCommand(f"recharge {recharge_id} was requested with another amount or by another user")
        unit.repeat_of(recharge_id, found.version)
        return found.status
    open_wallet(unit, user_id, at).check_not_frozen("a recharge")
    unit.add(Recharge.request(recharge_id, user_id=user_id, value=value, credits=credits, deadline=deadline,
                              digest=fingerprint, at=at))
    return RechargeStatus.REQUESTED


def end_recharge(unit: Unit, recharge_id: UUID, ending: Ending, detail: str, at: datetime) -> RechargeStatus:
    """Record what became of an attempt; a confirmation grants the credits, once. The status after."""
    recharge = require(unit.get(recharge_id), Recharge, UnknownReference(f"no recharge {recharge_id}"))
    if ending == "confirmed":
        changed = recharge.confirm(at=at)
        if changed:
            grant_credits(unit, kind="redemption", reference=recharge.debit_id,
                          awards=[{"user_id": recharge.user_id, "credits": recharge.credits}],
                          event_class=Wallet.CreditsRedeemed, at=at, price=recharge.value, expires_at=None)
    elif ending == "declined":
        changed = recharge.decline(reason=detail, at=at)
    elif ending == "attempted":
        changed = recharge.note_attempt(detail=detail, at=at)
    else:
        changed = recharge.lapse(reason=detail, at=at)
    if not changed:
        unit.repeat_of(recharge_id, recharge.version)
    elif ending in ("confirmed", "declined"):  # an auto top-up's end frees its plan (a decline pauses it)
        plan = unit.get(plan_id(recharge.user_id))
        if isinstance(plan, TopUpPlan):
            plan.end(recharge_id=str(recharge_id), confirmed=ending == "confirmed", reason=detail, at=at)
    return recharge.status


def plan_id(user_id: str) -> UUID:
    """The id of the auto top-up plan of ``user_id``."""
    return derived_id(IdKind.TOPUP, user_id)


def set_top_up(unit: Unit, user_id: str, terms: dict[str, Any], at: datetime) -> None:
    """Turn the learner's auto top-up on with ``terms`` (pack_id "": off); a pause ends."""
    found = unit.get(plan_id(user_id), creating=True)
    plan = found if isinstance(found, TopUpPlan) else unit.add(TopUpPlan.open(plan_id(user_id), user_id=user_id,
                                                                              at=at))
    assert isinstance(plan, TopUpPlan)
    plan.set(**terms, at=at)


def start_top_up(unit: Unit, *, user_id: str, recharge_id: UUID, month: str, deadline: datetime,
                 at: datetime) -> str:
    """Ask for one top-up for the crossing ``recharge_id`` names, if the guardrails allow; what happened."""
    if isinstance(unit.get(recharge_id, creating=True), Recharge):
        unit.repeat_of(recharge_id, 1)
        return "repeated"  # this crossing's top-up was asked already: never a second charge for it
    plan = unit.get(plan_id(user_id))
    if not isinstance(plan, TopUpPlan) or not plan.pack_id:
        return "off"
    if not plan.on:
        return "paused" if plan.paused else "pending"
    wallet = existing_wallet(unit, user_id)
    if wallet.available(at) >= plan.below:
        return "not-below"  # credits came back meanwhile
    if not plan.room(month):
        return "capped"
    wallet.check_not_frozen("an auto top-up")
    assert plan.price is not None
    unit.add(Recharge.request(recharge_id, user_id=user_id, value=plan.price, credits=plan.credits, deadline=deadline,
                              digest=digest({"auto": plan.pack_id, "user_id": user_id}), at=at,
                              purpose="auto-top-up"))
    plan.start(recharge_id=str(recharge_id), month=month, at=at)
    return "started"
