"""The TopUpPlan aggregate: a learner's auto top-up, with its guardrails.

When their available credits cross below ``below``, one top-up of the pack is asked of the platform (a
recharge saga under an id of that crossing); at most one is pending at a time; what was charged in a month
never passes ``monthly_cap_minor``; a declined one pauses the plan until the learner turns it on again."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidCommand
from ledger.values import Money


class TopUpPlan(Aggregate):
    """One learner's auto top-up: the pack, the threshold, the monthly cap, what is pending and spent."""

    class PlanOpened(Aggregate.Created):
        user_id: str

    class TopUpSet(Aggregate.Event):
        """Turned on (again: a pause ends) with these terms, or off (``pack_id`` "")."""

        pack_id: str
        credits: int
        price: Money | None
        below: int
        monthly_cap_minor: int

        def apply(self, plan: TopUpPlan) -> None:
            plan.pack_id, plan.credits, plan.price = self.pack_id, self.credits, self.price
            plan.below, plan.monthly_cap_minor, plan.paused = self.below, self.monthly_cap_minor, ""

    class TopUpStarted(Aggregate.Event):
        recharge_id: str
        month: str
        amount_minor: int

        def apply(self, plan: TopUpPlan) -> None:
            plan.pending = self.recharge_id
            plan.spent[self.month] = plan.spent.get(self.month, 0) + self.amount_minor
            plan.months[self.recharge_id] = self.month

    class TopUpEnded(Aggregate.Event):
        """The pending top-up ended: confirmed, or declined with ``reason`` (which pauses the plan)."""

        recharge_id: str
        user_id: str
        confirmed: bool
        reason: str

        def apply(self, plan: TopUpPlan) -> None:
            plan.pending = ""
            if not self.confirmed:
                month = plan.months.get(self.recharge_id, "")
                plan.spent[month] = plan.spent.get(month, 0) - (plan.price.minor if plan.price else 0)
                plan.paused = self.reason or "declined"

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.pack_id = ""
        self.credits = 0
        self.price: Money | None = None
        self.below = 0
        self.monthly_cap_minor = 0
        self.paused = ""
        self.pending = ""
        self.spent: dict[str, int] = {}
        self.months: dict[str, str] = {}

    @classmethod
    def open(cls, plan_id: UUID, *, user_id: str, at: datetime) -> TopUpPlan:
        """The plan of ``user_id``, off."""
        return cls._create(cls.PlanOpened, id=plan_id, user_id=user_id, timestamp=at)

    @property
    def on(self) -> bool:
        """Whether a crossing starts a top-up now (turned on, not paused, none pending)."""
        return bool(self.pack_id) and not self.paused and not self.pending

    def set(self, *, pack_id: str, credits: int, price: Money | None, below: int, monthly_cap_minor: int,
            at: datetime) -> None:
        """Turn the plan on with these terms (``pack_id`` "": off)."""
        if pack_id and (price is None or credits <= 0 or below < 0 or monthly_cap_minor < price.minor):
            raise InvalidCommand(f"auto top-up of {self.user_id}: the monthly cap must take at least one pack")
        if (pack_id, credits, price, below, monthly_cap_minor) == (self.pack_id, self.credits, self.price, self.below,
                                                                   self.monthly_cap_minor) and not self.paused:
            return  # the same terms again: nothing to record
        self.trigger_event(self.TopUpSet, pack_id=pack_id, credits=credits, price=price, below=below,
                           monthly_cap_minor=monthly_cap_minor, timestamp=max(at, self.modified_on))

    def room(self, month: str) -> bool:
        """Whether one more pack fits under the monthly cap in ``month``."""
        return self.price is not None and self.spent.get(month, 0) + self.price.minor <= self.monthly_cap_minor

    def start(self, *, recharge_id: str, month: str, at: datetime) -> None:
        """Record the top-up asked for under ``recharge_id``."""
        assert self.price is not None
        self.trigger_event(self.TopUpStarted, recharge_id=recharge_id, month=month, amount_minor=self.price.minor,
                           timestamp=max(at, self.modified_on))

    def end(self, *, recharge_id: str, confirmed: bool, reason: str, at: datetime) -> bool:
        """The pending top-up ``recharge_id`` ended; whether it was the pending one."""
        if self.pending != recharge_id:
            return False
        self.trigger_event(self.TopUpEnded, recharge_id=recharge_id, user_id=self.user_id, confirmed=confirmed,
                           reason=reason[:500], timestamp=max(at, self.modified_on))
        return True
