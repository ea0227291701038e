"""Spend controls: a learner's own daily spend cap, and an operator's freeze of a wallet with a reason.

Both live in the wallet (ledger events), so the cap is counted atomically with the holds it limits and a
freeze is seen by the very command it refuses; the read tables, which lag, decide nothing here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger import DailySpendCapReached, Ledger, Outcome
from service.commands import Run, direct
from service.errors import InvalidSetting, SpendCapReached
from service.policy import Policy


@dataclass(frozen=True)
class WalletSettings:
    """A learner's spend controls as the wallet keeps them, with today's spending against the cap."""

    daily_spend_cap: int | None
    low_balance_below: int  # the learner's own, else the policy's
    max_daily_cap: int
    spent_today: int
    resets_at: datetime
    frozen: str  # the operator's reason, "" when not frozen


def settings_of(ledger: Ledger, policy: Policy, *, user_id: str, at: datetime) -> WalletSettings:
    """The learner's settings and today's spending (a learner without a wallet has none set)."""
    wallet = ledger.wallet(user_id)
    today = policy.day_of(at)
    own = wallet.low_balance_below if wallet else None
    return WalletSettings(daily_spend_cap=wallet.daily_spend_cap if wallet else None,
                          low_balance_below=own if own is not None else policy.alerts.low_balance_below,
                          max_daily_cap=policy.spend.max_daily_cap,
                          spent_today=wallet.spent_on(today) if wallet else 0,
                          resets_at=policy.day_ends(today), frozen=wallet.frozen if wallet else "")


def change_settings(ledger: Ledger, policy: Policy, *, user_id: str, daily_spend_cap: int | None, at: datetime,
                    low_balance_below: int | None = None, run: Run = direct) -> Outcome:
    """Set the learner's daily spend cap (None: no cap), at most the policy's maximum, and the credits below
    which they are told their balance is low (None: the policy's threshold)."""
    limit = policy.spend.max_daily_cap
    if daily_spend_cap is not None and not 0 <= daily_spend_cap <= limit:
        raise InvalidSetting("daily_spend_cap", f"the daily spend cap must be from 0 to {limit} credits (the "
                                                f"policy's maximum), got {daily_spend_cap}")
    return run("change_settings", lambda: ledger.change_settings(
        user_id=user_id, daily_spend_cap=daily_spend_cap, low_balance_below=low_balance_below, at=at))


def freeze(ledger: Ledger, *, user_id: str, reason: str, frozen: bool, at: datetime, run: Run = direct) -> Outcome:
    """Freeze (or unfreeze) a learner's wallet with an operator's reason; a repeat changes nothing."""
    return run("freeze" if frozen else "unfreeze", lambda: ledger.freeze(
        user_id=user_id, reason=reason, frozen=frozen, at=at))


def refused_past_cap(policy: Policy, error: DailySpendCapReached) -> SpendCapReached:
    """The learner's words for a generation past their cap: the cap, and when the day it counts on ends."""
    return SpendCapReached(cap=error.cap, spent=error.spent, needed=error.needed, resets_at=policy.day_ends(error.day))
