"""What a wallet knows, read without changing it: its credits, holds, the days its caps count, and the
controls on its spending (the learner's daily cap, an operator's freeze). ``Wallet`` reads through these."""

from __future__ import annotations

from datetime import datetime

from ledger.errors import DailySpendCapReached, FrozenWallet, HoldNotFound, InvalidCommand
from ledger.lots import available, by_source
from ledger.values import MAX_CREDITS, Grant, Hold


class WalletState:
    """The reads of a wallet's state; the state itself is set by ``Wallet`` and its events."""

    DAYS_KEPT = 7  # days whose share bonuses and spending are counted (ISO dates: the oldest is dropped)

    user_id: str
    grants: dict[str, Grant]
    holds: dict[str, Hold]
    pending: dict[str, datetime]

    @property
    def remaining(self) -> int:
        """Credits in grants, spendable or not yet marked expired."""
        return sum(g.remaining for g in self.grants.values())

    def available(self, at: datetime) -> int:
        """Credits that can be spent at ``at``: not held, not expired, not clawed back."""
        return available(self.grants.values(), at)

    def by_source(self, at: datetime) -> dict[str, int]:
        """Available credits at ``at`` by the source they came from."""
        return by_source(self.grants.values(), at)

    def shares_per_day(self) -> dict[str, int]:
        """Share bonuses granted per day (ISO date in the policy's time zone), latest days only."""
        days: dict[str, int] = self.__dict__.setdefault("share_bonus_days", {})  # absent from older snapshots
        return days

    def share_bonuses_on(self, day: str) -> int:
        """How many share bonuses were granted for shares made on ``day``."""
        return self.shares_per_day().get(day, 0)

    def spending_per_day(self) -> dict[str, int]:
        """Credits held for spending per day (ISO date in the policy's time zone), less those returned."""
        days: dict[str, int] = self.__dict__.setdefault("spent_days", {})  # absent from older snapshots
        return days

    def spent_on(self, day: str) -> int:
        """Credits spent (held, or captured) on ``day``, less those a failure or an expiry returned."""
        return self.spending_per_day().get(day, 0)

    @property
    def daily_spend_cap(self) -> int | None:
        """The learner's own limit on credits spent a day; None: no limit."""
        cap: int | None = self.__dict__.get("spend_cap")
        return cap

    @property
    def low_balance_below(self) -> int | None:
        """The learner's own low-balance threshold; None: the policy's."""
        below: int | None = self.__dict__.get("low_below")
        return below

    @property
    def settings(self) -> dict[str, int | None]:
        """The learner's settings as ``SettingsChanged`` carries them."""
        return {"daily_spend_cap": self.daily_spend_cap, "low_balance_below": self.low_balance_below}

    @property
    def frozen(self) -> str:
        """Why an operator froze the wallet; "" when it is not frozen."""
        reason: str = self.__dict__.get("frozen_for", "")
        return reason

    def hold(self, hold_id: str) -> Hold:
        """The hold ``hold_id``, or ``HoldNotFound`` naming the wallet and hold."""
        try:
            return self.holds[hold_id]
        except KeyError:
            raise HoldNotFound(f"wallet {self.user_id} has no hold {hold_id}") from None

    def due_holds(self, at: datetime) -> list[str]:
        """Ids of pending holds whose deadline has passed at ``at``."""
        return [hold_id for hold_id, deadline in self.pending.items() if deadline <= at]

    def give_back(self, hold: Hold, *, consumed: int) -> None:
        """A hold ended: what it did not consume was not spent on the day it counted on."""
        if hold.day in self.spending_per_day() and hold.amount > consumed:
            count_on(self.spending_per_day(), hold.day, consumed - hold.amount)

    # Checks: each raises before a command changes anything.

    def check_not_frozen(self, what: str) -> None:
        """``FrozenWallet`` with the operator's reason when the wallet is frozen."""
        if self.frozen:
            raise FrozenWallet(self.user_id, self.frozen, what)

    def check_spend(self, amount: int, day: str) -> None:
        """``DailySpendCapReached`` when spending ``amount`` more on ``day`` passes the learner's cap."""
        cap = self.daily_spend_cap
        if cap is not None and self.spent_on(day) + amount > cap:
            raise DailySpendCapReached(self.user_id, cap=cap, spent=self.spent_on(day), needed=amount, day=day)


def count_on(days: dict[str, int], day: str, n: int) -> None:
    """Add ``n`` to ``day``'s count, keeping the latest ``WalletState.DAYS_KEPT`` days."""
    days[day] = days.get(day, 0) + n
    while len(days) > WalletState.DAYS_KEPT:
        del days[min(days)]


SETTINGS = {"daily_spend_cap": "a daily spend cap", "low_balance_below": "a low-balance threshold"}


def checked_settings(settings: dict[str, int | None]) -> dict[str, int | None]:
    """Every setting, each None or a whole number of credits from 0 to ``MAX_CREDITS`` (those not given: None)."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise InvalidCommand(f"no wallet setting {unknown[0]!r}: one of {sorted(SETTINGS)}")
    for name, value in settings.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= MAX_CREDITS):
            raise InvalidCommand(f"{SETTINGS[name]} must be a whole number from 0 to {MAX_CREDITS}, got {value!r}")
    return {name: settings.get(name) for name in SETTINGS}
