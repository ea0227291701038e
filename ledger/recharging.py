"""The recharge saga's command steps: a recharge recorded once per id, and its end recorded once, the
credits of a confirmed one granted in the same unit of work (a ``redemption`` under its debit id)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from ledger.errors import ConflictingCommand, UnknownReference
from ledger.recharge import Recharge, RechargeStatus
from ledger.steps import grant_credits, open_wallet, require
from ledger.unit import Unit
from ledger.values import Money, digest
from ledger.wallet import Wallet

Ending = Literal["confirmed", "declined", "attempted", "lapsed"]


def request_recharge(unit: Unit, user_id: str, recharge_id: UUID, value: Money, credits: int, deadline: datetime,
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
            grant_credits(unit, "redemption", recharge.debit_id,
                          [{"user_id": recharge.user_id, "credits": recharge.credits}], Wallet.CreditsRedeemed, at,
                          price=recharge.value, expires_at=None)
    elif ending == "declined":
        changed = recharge.decline(reason=detail, at=at)
    elif ending == "attempted":
        changed = recharge.note_attempt(detail=detail, at=at)
    else:
        changed = recharge.lapse(reason=detail, at=at)
    if not changed:
        unit.repeat_of(recharge_id, recharge.version)
    return recharge.status
