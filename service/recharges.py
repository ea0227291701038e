"""Recharges from the platform wallet: a learner asks, the ledger records the saga, and a tracked process
(``RechargeDriver``, run by the sweeper) drives each to its end; never the request path.

The driver folds the ledger's recharge events into what is still open, so a restart (or another replica
taking the sweeper's lock) resumes from the log: a debit is asked again under the same id, which the
platform never takes twice, and a confirmation is recorded once, its credits with it."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger import Ledger, LedgerError, LedgerUnavailable, Money, Outcome, UnknownReference
from ledger.event_store.follow import Follower, Stored
from ledger.names import IdKind, derived_id
from ledger.recharge import Recharge, RechargeStatus
from ledger.recharging import Ending
from service.commands import Run, direct
from service.errors import InvalidSetting, RejectedMessage
from service.platform import Debit, PlatformWallet
from service.policy import Policy

log = logging.getLogger(__name__)
FOLLOWED = (Recharge.RechargeRequested, Recharge.RechargeAttempted, Recharge.RechargeConfirmed,
            Recharge.RechargeDeclined, Recharge.RechargeLapsed)
PURPOSE = "studio credits"
AUTO_PURPOSE = "studio credits, auto top-up"
MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class RechargeView:
    """A recharge as the learner sees it."""

    recharge_id: UUID
    status: RechargeStatus
    amount_minor: int
    currency: str
    credits: int
    detail: str
    attempts: int
    position: int = 0


def recharge_id(user_id: str, key: str) -> UUID:
    """The id of the recharge ``user_id`` asks for under idempotency key ``key`` (also the platform's debit id)."""
    return derived_id(IdKind.RECHARGE, user_id, key)


def credits_for(policy: Policy, amount_minor: int, currency: str) -> int:
    """The credits ``amount_minor`` of ``currency`` gives; ``InvalidSetting`` naming the field when it cannot."""
    rate = policy.redemption
    if currency != rate.currency:
        raise InvalidSetting("currency", f"recharges are in {rate.currency}, not {currency}")
    given = rate.credits_for(amount_minor)
    step = recharge_step(policy)
    if given < 1 or amount_minor % step:
        # Money that buys part of a credit would be taken and give nothing for it: ask for whole credits.
        raise InvalidSetting("amount_minor", f"an amount must buy whole credits: a multiple of {step} minor units "
                                             f"of {currency}, at least {step}; got {amount_minor}")
    return given


def recharge_step(policy: Policy) -> int:
    """The least amount (minor units) that buys whole credits: every recharge is a multiple of it."""
    rate = policy.redemption
    return rate.minor_per_major // math.gcd(rate.minor_per_major, rate.credits_per_major_unit)


def request_recharge(ledger: Ledger, policy: Policy, *, user_id: str, key: str, amount_minor: int, currency: str,
                     at: datetime, deadline: timedelta, run: Run = direct) -> RechargeView:
    """Record a recharge (once per key); the driver asks the platform for the debit."""
    credits = credits_for(policy, amount_minor, currency)
    recharge = recharge_id(user_id, key)
    outcome = run("request_recharge", lambda: ledger.request_recharge(
        user_id=user_id, recharge_id=recharge, value=Money(amount_minor, currency), amount=credits,
        deadline=at + deadline, at=at))
    view = recharge_of(ledger, user_id=user_id, recharge=recharge)
    return RechargeView(**{**view.__dict__, "position": outcome.position})


def recharge_of(ledger: Ledger, *, user_id: str, recharge: UUID) -> RechargeView:
    """One of ``user_id``'s recharges as it stands in the ledger; ``UnknownReference`` for anyone else's."""
    found = ledger.recharge(recharge)
    if found is None or found.user_id != user_id:
        raise UnknownReference(f"you have no recharge {recharge}")
    return RechargeView(recharge_id=found.id, status=found.status, amount_minor=found.value.minor,
                        currency=found.value.currency, credits=found.credits, detail=found.detail,
                        attempts=found.attempts)


@dataclass
class Open:
    """A recharge still to drive: what to debit, how often it was tried, and when to try next."""

    debit: Debit
    deadline: datetime
    status: RechargeStatus
    attempts: int
    next_try: datetime


class RechargeDriver:
    """Drives open recharges to their end through the platform port, from the ledger's own log."""

    def __init__(self, ledger: Ledger, platform: PlatformWallet, *, attempts: int, retry: timedelta,
                 clock: Callable[[], datetime]) -> None:
        self.ledger = ledger
        self.platform = platform
        self.attempts = attempts
        self.retry = retry
        self.clock = clock
        self.open: dict[UUID, Open] = {}
        self.follower = Follower(ledger, topics=[get_topic(cls) for cls in FOLLOWED])

    def catch_up(self) -> None:
        """Fold every recharge event stored so far."""
        while page := self.follower.read():
            for stored in page:
                self.apply(stored)

    def apply(self, stored: Stored) -> None:
        """Fold one recharge event in."""
        event = stored.event
        key = event.originator_id
        if isinstance(event, Recharge.RechargeRequested):
            debit = Debit(debit_id=str(key), user_id=event.user_id, amount_minor=event.value.minor,
                          currency=event.value.currency,
                          purpose=PURPOSE if getattr(event, "purpose", "recharge") == "recharge" else AUTO_PURPOSE)
            self.open[key] = Open(debit, event.deadline, RechargeStatus.REQUESTED, 0, event.timestamp)
        elif key not in self.open:
            return
        elif isinstance(event, Recharge.RechargeConfirmed | Recharge.RechargeDeclined):
            del self.open[key]
        elif isinstance(event, Recharge.RechargeAttempted):
            found = self.open[key]
            found.attempts += 1
            found.next_try = event.timestamp + min(self.retry * 2 ** (found.attempts - 1), MAX_BACKOFF)
        elif isinstance(event, Recharge.RechargeLapsed):
            self.open[key].status = RechargeStatus.LAPSED

    def drive(self, at: datetime | None = None) -> int:
        """Try each open recharge that is due once; how many ended (confirmed or declined)."""
        self.catch_up()
        at = at or self.clock()
        ended = 0
        for key, found in sorted(self.open.items(), key=lambda item: item[1].next_try):
            if found.next_try > at:
                continue
            ended += self._drive_one(key, found, at)
        self.catch_up()
        return ended

    def _drive_one(self, key: UUID, found: Open, at: datetime) -> bool:
        # Debit while attempts remain; then (and once lapsed) only ask what became of the debit: a debit
        # asked again under the same id is safe, but asking settles the unanswered ones for good.
        asking = found.attempts >= self.attempts or found.status == RechargeStatus.LAPSED
        answer = self.platform.fate(found.debit.debit_id) if asking else self.platform.debit(found.debit)
        unanswered = answer.status in ("unknown", "pending")
        overdue = found.status == RechargeStatus.REQUESTED and at >= found.deadline
        if answer.status == "pending" and not overdue:
            # Asked on a durable topic (the relay published the request): the answer comes as a message,
            # applied by the inbound consumer; nothing to record until then, only the deadline to watch.
            found.next_try = min(found.deadline, at + MAX_BACKOFF) if at < found.deadline else at + MAX_BACKOFF
            return False
        if unanswered and overdue:
            log.warning("recharge %s of %s lapsed unresolved after %s attempts: %s", key, found.debit.user_id,
                        found.attempts, answer.reason)
            self._record(key, "lapsed", f"no answer from the platform by the deadline: {answer.reason}", at)
            return False
        ending: Ending = "attempted" if unanswered else "confirmed" if answer.status == "confirmed" else "declined"
        self._record(key, ending, answer.reason, at)
        return answer.status in ("confirmed", "declined")

    def _record(self, key: UUID, ending: Ending, detail: str, at: datetime) -> None:
        try:
            self.ledger.end_recharge(recharge_id=key, ending=ending, detail=detail, at=at)
        except LedgerUnavailable:  # recorded at the next turn: the platform answers the same debit id the same way
            log.warning("recharge %s: the ledger could not take %s now", key, ending)
        except LedgerError as error:  # a platform contradicting what it answered before: an operator's finding
            log.error("recharge %s: %s refused: %s", key, ending, error)
            self.open.pop(key, None)


class UnknownDebit(RejectedMessage):
    """A platform's answer about a debit we never asked for."""

    code = "unknown-debit"


class DebitMismatch(RejectedMessage):
    """A platform's answer whose learner, amount or currency is not the debit we asked for."""

    code = "debit-mismatch"


def answered_recharge(ledger: Ledger, debit_id: str) -> Recharge | None:
    """The recharge whose debit ``debit_id`` is, or None when it names none."""
    try:
        key = UUID(debit_id)
    except ValueError:
        return None
    return ledger.recharge(key) if str(key) == debit_id else None


def apply_answer(ledger: Ledger, *, debit_id: str, user_id: str, amount_minor: int, currency: str,
                 declined: str | None, at: datetime) -> Outcome:
    """Record the platform's answer to a debit asked over Kafka (``declined``: its reason, None: confirmed),
    once; refused, changing nothing, unless it matches the debit asked for."""
    found = answered_recharge(ledger, debit_id)
    if found is None:
        raise UnknownDebit(f"debit {debit_id}: no recharge asked for this debit")
    asked = (found.user_id, found.value.minor, found.value.currency)
    if (user_id, amount_minor, currency) != asked:
        raise DebitMismatch(f"debit {debit_id}: asked {asked[1]} {asked[2]} of {asked[0]}, "
                            f"answered {amount_minor} {currency} of {user_id}")
    if declined is None:
        return ledger.end_recharge(recharge_id=found.id, ending="confirmed", at=at)
    return ledger.end_recharge(recharge_id=found.id, ending="declined", detail=declined, at=at)
