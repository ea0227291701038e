"""The Wallet aggregate and its events: grants, two-phase holds, expiry, refunds, clawbacks, spend controls.
Its reads and checks are in ``ledger.wallet_state``; the arithmetic over grants and holds (burn order, which
grants a hold takes, how it ends) in ``ledger.lots``; the hash chain's ``event_hash`` in ``ledger.values``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import CaptureExceedsHold, ConflictingCommand, HoldAlreadyResolved, InvalidAmount, InvalidCommand
from ledger.lots import DEFAULT_BURN_ORDER, ending, expired_remainders, refund, take
from ledger.values import GENESIS_HASH, Grant, Hold, HoldStatus, Money, check_term, credits, digest, event_hash, later
from ledger.wallet_state import WalletState, checked_settings, count_on


class Wallet(Aggregate, WalletState):
    """One user's credits: grants they received and holds placed against them."""

    RESOLVED_HOLDS_KEPT = 100

    class Event(Aggregate.Event):
        """A wallet event: it carries the hash of the wallet's previous event."""

        prev_hash: str

        def apply(self, aggregate: Any) -> None:
            self.apply_to(aggregate)
            aggregate.last_hash = event_hash(self)

        def apply_to(self, wallet: Wallet) -> None:
            """Evolve the wallet's state; overridden by each event."""

    class WalletOpened(Aggregate.Created):
        user_id: str
        prev_hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = event_hash(self)

    class GrantEvent(Event):
        source: ClassVar[str] = ""
        grant_id: str
        credits: int
        expires_at: datetime | None
        price: Money | None
        reference: str

        def apply_to(self, wallet: Wallet) -> None:
            wallet.grants[self.grant_id] = Grant(
                grant_id=self.grant_id, source=self.source, amount=self.credits, remaining=self.credits,
                expires_at=self.expires_at, price=self.price, version=self.originator_version)
            wallet.granted += self.credits

    class CreditsPurchased(GrantEvent):
        source = "purchase"
        pack_id: str

    class CreditsRedeemed(GrantEvent):
        source = "redemption"

    class ReferralBonusGranted(GrantEvent):
        source = "referral"
        role: str

    class ShareBonusGranted(GrantEvent):
        """``day``: the share's day in the policy's time zone, counted against the daily cap
        (absent from bonuses granted before the wallet kept the cap)."""

        source = "share"
        day: str

        def apply_to(self, wallet: Wallet) -> None:
            super().apply_to(wallet)
            day = getattr(self, "day", "")
            if day:
                count_on(wallet.shares_per_day(), day, 1)

    class PromoCreditsGranted(GrantEvent):
        source = "promo"
        reason: str

    class CreditsAdjusted(GrantEvent):
        """An admin adjustment: a positive one adds a grant, a negative one takes credits."""

        source = "adjustment"
        reason: str
        taken: dict[str, int]

        def apply_to(self, wallet: Wallet) -> None:
            if self.credits > 0:
                super().apply_to(wallet)
            for grant_id, n in self.taken.items():
                wallet.grants[grant_id].remaining -= n
                wallet.clawed_back += n

    class HoldPlaced(Event):
        hold_id: str
        credits: int
        portions: dict[str, int]
        expires_at: datetime
        digest: str
        meta: dict[str, Any]
        day: str = ""  # a generation's: the day its spending counts on (absent from older holds)

        def apply_to(self, wallet: Wallet) -> None:
            if self.day:
                count_on(wallet.spending_per_day(), self.day, self.credits)
            for grant_id, n in self.portions.items():
                wallet.grants[grant_id].remaining -= n
            wallet.held += self.credits
            wallet.pending[self.hold_id] = self.expires_at
            wallet.holds[self.hold_id] = Hold(
                hold_id=self.hold_id, amount=self.credits, portions=dict(self.portions), expires_at=self.expires_at,
                digest=self.digest, placed_version=self.originator_version, meta=dict(self.meta), day=self.day)

    class HoldResolution(Event):
        """Ends a hold: what was consumed, returned, or written off on return."""

        status: ClassVar[HoldStatus]
        hold_id: str
        consumed: dict[str, int]
        returned: dict[str, int]
        expired: dict[str, int]
        clawed_back: dict[str, int]
        resolution: str

        def apply_to(self, wallet: Wallet) -> None:
            hold = wallet.holds[self.hold_id]
            for grant_id, n in self.consumed.items():
                wallet.grants[grant_id].consumed += n
            for grant_id, n in self.returned.items():
                wallet.grants[grant_id].remaining += n
            wallet.consumed += sum(self.consumed.values())
            wallet.expired += sum(self.expired.values())
            wallet.clawed_back += sum(self.clawed_back.values())
            wallet.held -= hold.amount
            wallet.give_back(hold, consumed=sum(self.consumed.values()))
            hold.status = self.status
            hold.captured = sum(self.consumed.values())
            hold.resolution = self.resolution
            hold.resolved_version = self.originator_version
            hold.portions = {}  # what is left to know of a resolved hold is its outcome
            del wallet.pending[self.hold_id]
            # Remember the latest resolved holds, so repeats get their first result; older
            # ones are forgotten, which keeps a busy wallet's state and snapshots small.
            wallet.resolved.append(self.hold_id)
            while len(wallet.resolved) > wallet.RESOLVED_HOLDS_KEPT:
                del wallet.holds[wallet.resolved.pop(0)]

    class HoldCaptured(HoldResolution):
        status = "captured"

    class HoldReleased(HoldResolution):
        status = "released"

    class HoldExpired(HoldResolution):
        status = "expired"

    class CreditsExpired(Event):
        expired: dict[str, int]

        def apply_to(self, wallet: Wallet) -> None:
            for grant_id, n in self.expired.items():
                wallet.grants[grant_id].remaining -= n
            wallet.expired += sum(self.expired.values())

    class GrantClosed(Event):
        """A purchase refunded or a referral reversed: unspent credits are clawed back."""

        closed_as: ClassVar[str] = ""
        grant_id: str
        reference: str
        clawed_back: int
        spent: int
        held: int

        def apply_to(self, wallet: Wallet) -> None:
            grant = wallet.grants[self.grant_id]
            grant.remaining -= self.clawed_back
            grant.closed = self.closed_as
            wallet.clawed_back += self.clawed_back

    class PurchaseRefunded(GrantClosed):
        closed_as = "refunded"
        refund: Money

    class ReferralReversed(GrantClosed):
        closed_as = "reversed"

    class SettingsChanged(Event):
        """The learner's own limits: ``daily_spend_cap`` credits a day at most, and the available credits
        ``low_balance_below`` which they are told their balance is low (None: no cap, the policy's threshold)."""

        daily_spend_cap: int | None
        low_balance_below: int | None = None

        def apply_to(self, wallet: Wallet) -> None:
            wallet.__dict__.update(spend_cap=self.daily_spend_cap, low_below=self.low_balance_below)

    class Freezing(Event):
        """An operator froze or unfroze the wallet, saying why; a frozen one spends nothing, takes no recharge."""

        freezes: ClassVar[bool] = True
        reason: str

        def apply_to(self, wallet: Wallet) -> None:
            wallet.__dict__["frozen_for"] = self.reason if self.freezes else ""

    class WalletFrozen(Freezing):
        freezes = True

    class WalletUnfrozen(Freezing):
        freezes = False

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.grants: dict[str, Grant] = {}
        self.holds: dict[str, Hold] = {}
        self.pending: dict[str, datetime] = {}  # hold id -> deadline, of the unresolved holds
        self.resolved: list[str] = []  # ids of the resolved holds still kept, oldest first
        self.granted = 0
        self.held = 0
        self.consumed = 0
        self.expired = 0
        self.clawed_back = 0
        self.last_hash = GENESIS_HASH
        self.share_bonus_days: dict[str, int] = {}

    @classmethod
    def open(cls, wallet_id: UUID, user_id: str, at: datetime) -> Wallet:
        """Open the wallet of ``user_id``."""
        if not user_id:
            raise InvalidCommand("a wallet needs a user id")
        return cls._create(cls.WalletOpened, id=wallet_id, user_id=user_id, prev_hash=GENESIS_HASH, timestamp=at)

    # Commands: each validates first, raises before any change, then triggers its events.

    def grant(self, event_class: type[GrantEvent], *, grant_id: str, amount: int, at: datetime, reference: str,
              expires_at: datetime | None = None, price: Money | None = None, **fields: Any) -> None:
        """Add credits from one source as a new grant."""
        credits(amount)
        at = self._decision_time(at)
        if grant_id in self.grants:
            raise ConflictingCommand(f"wallet {self.user_id} already has grant {grant_id}")
        if expires_at is not None:
            check_term(expires_at, at=at, what=f"grant {reference}")
        self._settle(at)
        self._expire_due(at)
        self._trigger(event_class, at, grant_id=grant_id, credits=amount, expires_at=expires_at, price=price,
                      reference=reference, **fields)

    def adjust(self, *, delta: int, reason: str, reference: str, grant_id: str, at: datetime,
               order: tuple[str, ...] = DEFAULT_BURN_ORDER) -> None:
        """An admin adjustment with a reason: adds a grant, or takes available credits."""
        if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
            raise InvalidAmount(f"an adjustment must be a non-zero whole number, got {delta!r}")
        credits(abs(delta), "an adjustment")
        if not reason.strip():
            raise InvalidCommand(f"adjustment {reference} needs a reason")
        at = self._decision_time(at)
        self._settle(at)
        taken = take(self.grants.values(), -delta, at, order, self.user_id) if delta < 0 else {}
        self._expire_due(at)
        self._trigger(self.CreditsAdjusted, at, grant_id=grant_id, credits=delta, expires_at=None, price=None,
                      reference=reference, reason=reason, taken=taken)

    def place_hold(self, *, hold_id: str, amount: int, at: datetime, expires_at: datetime | None = None,
                   ttl: timedelta | None = None, order: tuple[str, ...] = DEFAULT_BURN_ORDER,
                   meta: dict[str, Any] | None = None, day: str = "") -> Hold:
        """Reserve ``amount`` credits from specific grants until ``expires_at``, or for ``ttl`` from
        ``at``. A repeat returns the first hold: its fingerprint is what the caller asked for (the
        deadline, or the time to live), never the time it arrived. With ``day``, it is spending: refused
        on a frozen wallet or past the learner's daily cap, and counted on that day."""
        credits(amount)
        if not hold_id:
            raise InvalidCommand("a hold needs an id")
        if (expires_at is None) == (ttl is None):
            raise InvalidCommand(f"hold {hold_id} needs either a deadline or a time to live")
        asked: dict[str, Any] = {"expires_at": expires_at} if ttl is None else {"ttl": ttl.total_seconds()}
        fingerprint = digest({"amount": amount, **asked, "meta": meta or {}})
        if hold_id in self.holds:
            existing = self.holds[hold_id]
            if existing.digest != fingerprint:
                raise ConflictingCommand(f"hold {hold_id} on wallet {self.user_id} was placed with another payload")
            return existing
        deadline = later(at, ttl, f"hold {hold_id}") if ttl is not None else expires_at
        assert deadline is not None
        at = self._decision_time(at)
        check_term(deadline, at=at, what=f"hold {hold_id}")
        if day:
            self.check_not_frozen("spending credits")
            self.check_spend(amount, day)
        self._settle(at)
        portions = take(self.grants.values(), amount, at, order, self.user_id)
        self._expire_due(at)
        self._trigger(self.HoldPlaced, at, hold_id=hold_id, credits=amount, portions=portions, expires_at=deadline,
                      digest=fingerprint, meta=meta or {}, **({"day": day} if day else {}))
        return self.holds[hold_id]

    def capture(self, *, hold_id: str, amount: int, at: datetime) -> Hold:
        """Consume ``amount`` of the held credits; the rest return to their grants."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise InvalidAmount(f"capture of hold {hold_id} must be a whole number >= 0, got {amount!r}")
        return self._resolve(self.HoldCaptured, hold_id, amount, at)

    def release(self, *, hold_id: str, at: datetime) -> Hold:
        """Return every held credit to the grant it came from."""
        return self._resolve(self.HoldReleased, hold_id, 0, at)

    def expire_hold(self, *, hold_id: str, at: datetime) -> Hold:
        """Expire a pending hold whose deadline has passed: its credits return."""
        hold = self.hold(hold_id)
        if hold.is_pending and hold.expires_at > self._decision_time(at):
            raise InvalidCommand(f"hold {hold_id} on wallet {self.user_id} is due at {hold.expires_at}")
        return self._resolve(self.HoldExpired, hold_id, 0, at)

    def expire_credits(self, at: datetime) -> bool:
        """Expire holds past their deadline and write off grants that have expired by ``at``."""
        at = self._decision_time(at)
        return self._settle(at) | self._expire_due(at)

    def close_grant(self, event_class: type[GrantClosed], *, grant_id: str, reference: str,
                    at: datetime, source: str) -> None:
        """Refund a purchase or reverse a referral: claw back its unspent credits."""
        grant = self.grants.get(grant_id)
        if grant is None or grant.source != source:
            raise InvalidCommand(f"wallet {self.user_id} has no {source} grant {grant_id}")
        if grant.closed is not None:
            raise ConflictingCommand(f"grant {grant_id} on wallet {self.user_id} is already {grant.closed}")
        at = self._decision_time(at)
        self._settle(at)
        self._expire_due(at)
        clawed = grant.remaining
        held = sum(self.holds[h].portions.get(grant_id, 0) for h in self.pending)
        fields: dict[str, Any] = {}
        if event_class is self.PurchaseRefunded:
            fields["refund"] = refund(grant, clawed)
        self._trigger(event_class, at, grant_id=grant_id, reference=reference, clawed_back=clawed,
                      spent=grant.consumed, held=held, **fields)

    def change_settings(self, *, at: datetime, **settings: int | None) -> bool:
        """Set the learner's daily spend cap and low-balance threshold (None: none); whether they changed."""
        if (asked := checked_settings(settings)) != self.settings:
            self._trigger(self.SettingsChanged, self._decision_time(at), **asked)
            return True
        return False

    def freeze(self, *, frozen: bool, reason: str, at: datetime) -> bool:
        """Freeze (or unfreeze) the wallet with an operator's reason; whether that changed anything."""
        if not reason.strip():
            raise InvalidCommand(f"{'freezing' if frozen else 'unfreezing'} wallet {self.user_id} needs a reason")
        if (reason == self.frozen) if frozen else not self.frozen:
            return False
        self._trigger(self.WalletFrozen if frozen else self.WalletUnfrozen, self._decision_time(at), reason=reason)
        return True

    # Internals.

    def _resolve(self, event_class: type[HoldResolution], hold_id: str, amount: int, at: datetime) -> Hold:
        hold = self.hold(hold_id)
        resolution = digest({"status": event_class.status, "amount": amount})
        if not hold.is_pending:
            if hold.resolution == resolution:
                return hold
            raise HoldAlreadyResolved(f"hold {hold_id} on wallet {self.user_id} is already {hold.status}")
        at = self._decision_time(at)
        if event_class is not self.HoldExpired and hold.expires_at <= at:
            raise HoldAlreadyResolved(f"hold {hold_id} on wallet {self.user_id} expired at {hold.expires_at}")
        if amount > hold.amount:
            raise CaptureExceedsHold(f"capture of {amount} exceeds the {hold.amount} credits of hold {hold_id} "
                                     f"on wallet {self.user_id}")
        self._settle(at, keep=hold_id)
        self._expire_due(at)
        self._trigger(event_class, at, **ending(hold, self.grants, amount, at), resolution=resolution)
        return hold

    def _settle(self, at: datetime, keep: str = "") -> bool:
        """Expire every pending hold whose deadline has passed: its credits are no longer held."""
        due = [self.holds[h] for h in self.due_holds(at) if h != keep]
        for hold in due:
            resolution = digest({"status": self.HoldExpired.status, "amount": 0})
            self._trigger(self.HoldExpired, at, **ending(hold, self.grants, 0, at), resolution=resolution)
        return bool(due)

    def _expire_due(self, at: datetime) -> bool:
        expired = expired_remainders(self.grants.values(), at)
        if expired:
            self._trigger(self.CreditsExpired, at, expired=expired)
        return bool(expired)

    def _decision_time(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise InvalidCommand(f"time {at} has no time zone")
        return max(at, self.modified_on)

    def _trigger(self, event_class: type[Aggregate.Event], at: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=at, prev_hash=self.last_hash, **fields)
