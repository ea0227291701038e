"""The Recharge aggregate: a learner's platform wallet balance converted to credits, as a saga.

requested → confirmed (the credits are granted once, a ``redemption`` grant under the debit id, in the
same unit of work) or declined (the platform's reason); an attempt whose answer never came is noted and
retried with the same debit id, then its fate asked; one still unresolved past its deadline lapses, a
finding an operator sees. A platform that confirms after a lapse has taken the money: it is granted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import ConflictingCommand
from ledger.values import Money


class RechargeStatus(StrEnum):
    """Where a recharge stands."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    LAPSED = "lapsed"  # unresolved past its deadline: a finding, still confirmed if the platform says so


OPEN = (RechargeStatus.REQUESTED, RechargeStatus.LAPSED)


class Recharge(Aggregate):
    """One recharge from the platform wallet: what was asked, each attempt, and how it ended."""

    class RechargeRequested(Aggregate.Created):
        user_id: str
        value: Money
        credits: int
        deadline: datetime
        digest: str
        purpose: str = "recharge"  # or "auto-top-up": asked by the learner's plan, not by them

    class RechargeAttempted(Aggregate.Event):
        """An attempt whose answer is not known (a timeout, the platform down): ``detail`` says what happened."""

        detail: str

        def apply(self, recharge: Recharge) -> None:
            recharge.attempts += 1
            recharge.detail = self.detail

    class RechargeConfirmed(Aggregate.Event):
        def apply(self, recharge: Recharge) -> None:
            recharge.status = RechargeStatus.CONFIRMED

    class RechargeDeclined(Aggregate.Event):
        reason: str

        def apply(self, recharge: Recharge) -> None:
            recharge.status = RechargeStatus.DECLINED
            recharge.detail = self.reason

    class RechargeLapsed(Aggregate.Event):
        reason: str

        def apply(self, recharge: Recharge) -> None:
            recharge.status = RechargeStatus.LAPSED
            recharge.detail = self.reason

    def __init__(self, user_id: str, value: Money, credits: int, deadline: datetime, digest: str,
                 purpose: str = "recharge") -> None:
        self.user_id = user_id
        self.value = value
        self.credits = credits
        self.deadline = deadline
        self.digest = digest
        self.purpose = purpose
        self.status = RechargeStatus.REQUESTED
        self.attempts = 0
        self.detail = ""

    @classmethod
    def request(cls, recharge_id: UUID, *, user_id: str, value: Money, credits: int, deadline: datetime,
                digest: str, at: datetime, purpose: str = "recharge") -> Recharge:
        """Record that ``user_id`` asked for ``value`` of platform balance as ``credits``, by ``deadline``."""
        return cls._create(cls.RechargeRequested, id=recharge_id, user_id=user_id, value=value, credits=credits,
                           deadline=deadline, digest=digest, purpose=purpose, timestamp=at)

    @property
    def debit_id(self) -> str:
        """The id the platform debits under, the same on every attempt."""
        return str(self.id)

    def note_attempt(self, *, detail: str, at: datetime) -> bool:
        """Note an attempt with no answer; whether it was noted (not once the recharge ended)."""
        if self.status not in OPEN:
            return False
        self.trigger_event(self.RechargeAttempted, detail=detail[:500], timestamp=max(at, self.modified_on))
        return True

    def confirm(self, *, at: datetime) -> bool:
        """The platform debited the balance; whether this changed anything (once only)."""
        if self.status == RechargeStatus.CONFIRMED:
            return False
        if self.status == RechargeStatus.DECLINED:
            raise ConflictingCommand(f"recharge {self.id} was declined ({self.detail}); the platform now confirms it")
        self.trigger_event(self.RechargeConfirmed, timestamp=max(at, self.modified_on))
        return True

    def decline(self, *, reason: str, at: datetime) -> bool:
        """The platform refused the debit; whether this changed anything."""
        if self.status == RechargeStatus.DECLINED:
            return False
        if self.status == RechargeStatus.CONFIRMED:
            raise ConflictingCommand(f"recharge {self.id} was confirmed; the platform now declines it ({reason})")
        self.trigger_event(self.RechargeDeclined, reason=reason[:500] or "declined",
                           timestamp=max(at, self.modified_on))
        return True

    def lapse(self, *, reason: str, at: datetime) -> bool:
        """Unresolved past its deadline: a finding; whether this changed anything."""
        if self.status != RechargeStatus.REQUESTED:
            return False
        self.trigger_event(self.RechargeLapsed, reason=reason[:500], timestamp=max(at, self.modified_on))
        return True
