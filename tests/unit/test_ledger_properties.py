"""Property-based tests: random sequences of ledger commands over simulated time keep the
wallet invariants, and re-folding the stored events gives the live aggregates."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger import Ledger, LedgerError, Money, wallet_id
from ledger.wallet import Wallet
from tests.conftest import T0

pytestmark = pytest.mark.unit
USERS = ("u0", "u1")
users = st.sampled_from(USERS)
amounts = st.integers(min_value=1, max_value=150)
expiry_hours = st.one_of(st.none(), st.integers(min_value=1, max_value=72))


class LedgerMachine(RuleBasedStateMachine):
    """Drives one ledger (memory store, group commit) with random commands."""

    @initialize()
    def start(self) -> None:
        self.ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}, group_commit=True)
        self.now = T0
        self.counter = 0
        self.holds: list[tuple[str, str]] = []
        self.payments: list[str] = []
        self.referrals: list[str] = []

    def teardown(self) -> None:
        self.ledger.close()

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def _expiry(self, hours: int | None):  # type: ignore[no-untyped-def]
        return None if hours is None else self.now + timedelta(hours=hours)

    def _try(self, command) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(LedgerError):  # a rejection; the invariants prove it changed nothing
            command()

    @rule(user=users, amount=amounts)
    def purchase(self, user: str, amount: int) -> None:
        payment = self._next("pay")
        self.ledger.purchase(user_id=user, payment_id=payment, pack_id="p", amount=amount,
                             price=Money(amount * 90 + 7, "INR"), at=self.now)
        self.payments.append(payment)

    @rule(user=users, amount=amounts)
    def redeem(self, user: str, amount: int) -> None:
        self.ledger.redeem(user_id=user, redemption_id=self._next("red"), amount=amount,
                           value=Money(amount * 10, "INR"), at=self.now)

    @rule(amount=amounts, hours=expiry_hours)
    def referral(self, amount: int, hours: int | None) -> None:
        referral = self._next("ref")
        awards = [{"user_id": "u0", "credits": amount, "role": "referrer"},
                  {"user_id": "u1", "credits": amount // 2 + 1, "role": "referee"}]
        self.ledger.grant_referral_bonus(referral_id=referral, awards=awards, at=self.now,
                                         expires_at=self._expiry(hours))
        self.referrals.append(referral)

    @rule(user=users, amount=amounts, hours=st.integers(min_value=1, max_value=48))
    def promo(self, user: str, amount: int, hours: int) -> None:
        self.ledger.grant_promo(user_id=user, reference=self._next("promo"), amount=amount, reason="promo",
                                at=self.now, expires_at=self._expiry(hours))

    @rule(user=users, amount=amounts, minutes=st.integers(min_value=1, max_value=120))
    def hold(self, user: str, amount: int, minutes: int) -> None:
        hold_id = self._next("hold")
        self._try(lambda: self.ledger.place_hold(user_id=user, hold_id=hold_id, amount=amount, at=self.now,
                                                 expires_at=self.now + timedelta(minutes=minutes)))
        self.holds.append((user, hold_id))

    @rule(data=st.data(), share=st.floats(min_value=0, max_value=1.2))
    def capture(self, data: st.DataObject, share: float) -> None:
        if self.holds:
            user, hold_id = data.draw(st.sampled_from(self.holds))
            self._try(lambda: self.ledger.capture(user_id=user, hold_id=hold_id, amount=int(share * 100),
                                                  at=self.now))

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.holds:
            user, hold_id = data.draw(st.sampled_from(self.holds))
            self._try(lambda: self.ledger.release(user_id=user, hold_id=hold_id, at=self.now))

    @rule(user=users)
    def expire(self, user: str) -> None:
        self._try(lambda: self.ledger.expire_credits(user_id=user, at=self.now))

    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        if self.payments:
            payment = data.draw(st.sampled_from(self.payments))
            self._try(lambda: self.ledger.refund_purchase(payment_id=payment, at=self.now))

    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        if self.referrals:
            referral = data.draw(st.sampled_from(self.referrals))
            self._try(lambda: self.ledger.reverse_referral(referral_id=referral, at=self.now))

    @rule(minutes=st.integers(min_value=1, max_value=24 * 60))
    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    def _wallets(self) -> list[tuple[Wallet, Wallet]]:
        """(live aggregate, aggregate re-folded from the stored events) for each wallet."""
        assert self.ledger.committer is not None
        pairs = []
        for user in USERS:
            live = self.ledger.committer.cache.get(wallet_id(user))
            if live is None:
                continue
            folded = None
            for event in self.ledger.events.get(live.id):
                folded = event.mutate(folded)
            assert isinstance(live, Wallet) and isinstance(folded, Wallet)
            pairs.append((live, folded))
        return pairs

    @invariant()
    def refolding_the_stored_events_gives_the_live_wallet(self) -> None:
        for live, folded in self._wallets():
            assert folded == live

    @invariant()
    def credits_are_conserved_and_never_negative(self) -> None:
        for wallet, _ in self._wallets():
            assert wallet.available(self.now) >= 0
            assert all(g.remaining >= 0 for g in wallet.grants.values())
            assert wallet.held == sum(h.amount for h in wallet.holds.values() if h.status == "pending")
            assert wallet.granted == (wallet.remaining + wallet.held + wallet.consumed + wallet.expired
                                      + wallet.clawed_back)
            assert all(h.captured <= h.amount for h in wallet.holds.values())

    @invariant()
    def every_hold_resolves_at_most_once(self) -> None:
        for wallet, _ in self._wallets():
            endings = Counter(e.hold_id for e in self.ledger.events.get(wallet.id)
                              if isinstance(e, Wallet.HoldResolution))
            assert all(n == 1 for n in endings.values()), endings


LedgerMachine.TestCase.settings = settings(
    max_examples=75, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_random_command_sequences_keep_the_ledger_invariants = LedgerMachine.TestCase
