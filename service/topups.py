"""Auto top-up: a learner's plan (a pack, a threshold, a monthly cap), and the watch that asks for one top-up
per crossing below the threshold (run by the sweeper, never on the request path).

The watch folds the wallets' balances from the log; each crossing below a plan's threshold becomes one
``start_top_up`` under an id of that crossing (its ledger position), so a restart or another replica asks
under the same id and nothing is charged twice for one shortfall. The plan's guardrails are the ledger's:
one pending at a time, the monthly cap, paused after a decline until the learner turns it on again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger import Ledger, LedgerError, LedgerUnavailable, Money, Outcome, Wallet
from ledger.event_store.follow import Follower, Stored
from ledger.names import IdKind, derived_id
from ledger.topup import TopUpPlan
from projections.statement import changes
from service.commands import Run, direct
from service.errors import InvalidSetting
from service.policy import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopUpTerms:
    """What a learner asks for: the pack, the credits below which one is bought, the most a month."""

    pack_id: str
    below: int
    monthly_cap_minor: int


def set_auto_top_up(ledger: Ledger, policy: Policy, *, user_id: str, terms: TopUpTerms | None, at: datetime,
                    run: Run = direct) -> Outcome:
    """Turn auto top-up on with ``terms`` (None: off); a paused plan starts again."""
    if terms is None:
        return run("set_top_up", lambda: ledger.set_top_up(user_id=user_id, pack_id="", credits=0, price=None,
                                                           below=0, monthly_cap_minor=0, at=at))
    pack = policy.pack(terms.pack_id)
    if pack is None:
        raise InvalidSetting("auto_top_up.pack_id", f"no pack {terms.pack_id!r} is for sale: one of "
                                                    f"{[p.id for p in policy.packs]}")
    if terms.monthly_cap_minor < pack.price_minor:
        raise InvalidSetting("auto_top_up.monthly_cap_minor", f"the monthly cap must take at least one {pack.id} "
                                                              f"pack ({pack.price_minor} {pack.currency})")
    return run("set_top_up", lambda: ledger.set_top_up(
        user_id=user_id, pack_id=pack.id, credits=pack.credits, price=Money(pack.price_minor, pack.currency),
        below=terms.below, monthly_cap_minor=terms.monthly_cap_minor, at=at))


@dataclass
class _Wallet:
    user_id: str
    balance: int = 0
    armed: bool = True  # at or above the threshold since the last crossing


@dataclass
class TopUpWatch:
    """Finds the crossings below each plan's threshold in the log and asks for their top-ups."""

    ledger: Ledger
    policy: Policy
    deadline: timedelta
    clock: Callable[[], datetime]
    wallets: dict[UUID, _Wallet] = field(default_factory=dict)
    below: dict[str, int | None] = field(default_factory=dict)  # user -> threshold of a plan turned on
    crossings: list[tuple[str, int]] = field(default_factory=list)  # (user, position), to ask for

    def __post_init__(self) -> None:
        wallet_events = [cls for cls in vars(Wallet).values()
                         if isinstance(cls, type) and issubclass(cls, Wallet.Event | Wallet.WalletOpened)]
        self.follower = Follower(self.ledger, topics=[get_topic(cls) for cls in (*wallet_events, TopUpPlan.TopUpSet,
                                                                                 TopUpPlan.PlanOpened)])
        self.plans: dict[UUID, str] = {}

    def catch_up(self) -> None:
        """Fold every wallet and plan event stored so far."""
        while page := self.follower.read():
            for stored in page:
                self.apply(stored)

    def apply(self, stored: Stored) -> None:
        """Fold one event in."""
        event = stored.event
        if isinstance(event, TopUpPlan.PlanOpened):
            self.plans[event.originator_id] = event.user_id
        elif isinstance(event, TopUpPlan.TopUpSet):
            user = self.plans.get(event.originator_id, "")
            self.below[user] = event.below if event.pack_id else None
        elif isinstance(event, Wallet.WalletOpened):
            self.wallets[event.originator_id] = _Wallet(event.user_id)
        elif event.originator_id in self.wallets:
            wallet = self.wallets[event.originator_id]
            change = changes(event)[0]
            wallet.balance += change
            below = self.below.get(wallet.user_id)
            if below is None:
                return
            if wallet.balance >= below:
                wallet.armed = True
            elif wallet.armed and change < 0:
                wallet.armed = False
                self.crossings.append((wallet.user_id, stored.position))

    def tell(self, at: datetime | None = None) -> int:
        """Ask for the top-up of each crossing found; how many were started."""
        self.catch_up()
        at = at or self.clock()
        started = 0
        while self.crossings:
            user, position = self.crossings[0]
            try:
                outcome = self.ledger.start_top_up(
                    user_id=user, recharge_id=derived_id(IdKind.RECHARGE, user, f"auto-top-up@{position}"),
                    month=self.policy.day_of(at)[:7], deadline=at + self.deadline, at=at)
            except LedgerUnavailable:
                return started  # the next sweep asks again, under the same id
            except LedgerError as error:  # a frozen wallet: no top-up for this crossing
                log.info("auto top-up of %s at %s not started: %s", user, position, error)
            else:
                started += outcome.value == "started"
            self.crossings.pop(0)
        return started
