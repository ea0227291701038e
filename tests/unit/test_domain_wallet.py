"""The Wallet aggregate on its own, without an application or a store: grants, holds, expiry,
refunds and adjustments, and the invariants its commands keep."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import uuid4

import pytest

from ledger.errors import (
    CaptureExceedsHold,
    ConflictingCommand,
    HoldAlreadyResolved,
    InsufficientCredits,
    InvalidAmount,
    InvalidCommand,
)
from ledger.values import GENESIS_HASH, Money, event_hash
from ledger.wallet import Wallet
from tests.conftest import T0

pytestmark = pytest.mark.unit
DAY = timedelta(days=1)


def opened(user: str = "ana") -> Wallet:
    return Wallet.open(uuid4(), user, T0)


def buy(wallet: Wallet, grant_id: str = "paid", credits: int = 100, at: datetime = T0) -> None:
    wallet.grant(Wallet.CreditsPurchased, grant_id=grant_id, amount=credits, at=at, reference=f"pay-{grant_id}",
                 price=Money(credits * 99, "INR"), pack_id="starter")


def promo(wallet: Wallet, grant_id: str = "promo", credits: int = 20, expires_at: datetime | None = T0 + DAY) -> None:
    wallet.grant(Wallet.PromoCreditsGranted, grant_id=grant_id, amount=credits, at=T0, reference=f"promo-{grant_id}",
                 expires_at=expires_at, reason="welcome")


def funded() -> Wallet:
    """100 paid credits and 20 promotional credits that expire after a day."""
    wallet = opened()
    buy(wallet)
    promo(wallet)
    return wallet


def events_of(wallet: Wallet) -> list[Any]:
    return list(wallet.pending_events)


def unchanged_after(wallet: Wallet, command: Any, error: type[Exception]) -> None:
    """The command raises ``error`` and triggers nothing."""
    before = (len(wallet.pending_events), wallet.available(T0), wallet.held)
    with pytest.raises(error):
        command()
    assert (len(wallet.pending_events), wallet.available(T0), wallet.held) == before


def test_a_wallet_needs_a_user_id() -> None:
    with pytest.raises(InvalidCommand):
        Wallet.open(uuid4(), "", T0)


def test_a_new_wallet_is_empty_and_starts_the_hash_chain() -> None:
    wallet = opened()
    (event,) = events_of(wallet)
    assert isinstance(event, Wallet.WalletOpened)
    assert event.prev_hash == GENESIS_HASH
    assert wallet.last_hash == event_hash(event)
    assert (wallet.available(T0), wallet.remaining, wallet.held) == (0, 0, 0)


def test_a_grant_adds_credits_that_can_be_spent_until_it_expires() -> None:
    wallet = funded()
    assert wallet.available(T0) == 120
    assert wallet.by_source(T0) == {"purchase": 100, "promo": 20}
    assert wallet.available(T0 + DAY) == 100
    assert wallet.granted == 120


def test_a_grant_id_is_granted_once() -> None:
    wallet = funded()
    unchanged_after(wallet, lambda: buy(wallet), ConflictingCommand)


@pytest.mark.parametrize("amount", [0, -5, True, 2.5])
def test_a_grant_is_a_positive_whole_number_of_credits(amount: Any) -> None:
    wallet = opened()
    unchanged_after(wallet, lambda: buy(wallet, credits=amount), InvalidAmount)


def test_a_grant_cannot_expire_before_it_is_made() -> None:
    wallet = opened()
    unchanged_after(wallet, lambda: promo(wallet, expires_at=T0), InvalidCommand)


def test_a_time_without_a_time_zone_is_refused() -> None:
    wallet = opened()
    unchanged_after(wallet, lambda: buy(wallet, at=T0.replace(tzinfo=None)), InvalidCommand)


def test_a_hold_can_never_take_more_than_is_available() -> None:
    wallet = funded()
    with pytest.raises(InsufficientCredits) as raised:
        wallet.place_hold(hold_id="h", amount=121, ttl=timedelta(minutes=15), at=T0)
    assert (raised.value.needed, raised.value.available) == (121, 120)
    unchanged_after(wallet, lambda: wallet.place_hold(hold_id="h", amount=121, ttl=DAY, at=T0), InsufficientCredits)


def test_a_hold_takes_the_credits_that_expire_soonest_first() -> None:
    wallet = funded()
    hold = wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0)
    assert hold.portions == {"promo": 20, "paid": 10}
    assert (wallet.available(T0), wallet.held) == (90, 30)


def test_a_paid_first_burn_order_takes_paid_credits_before_free_ones() -> None:
    wallet = funded()
    hold = wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0, order=("paid", "oldest"))
    assert hold.portions == {"paid": 30}


def test_a_hold_needs_either_a_deadline_or_a_time_to_live() -> None:
    wallet = funded()
    unchanged_after(wallet, lambda: wallet.place_hold(hold_id="h", amount=1, at=T0), InvalidCommand)
    unchanged_after(wallet, lambda: wallet.place_hold(hold_id="h", amount=1, at=T0, ttl=DAY, expires_at=T0 + DAY),
                    InvalidCommand)


def test_a_repeated_hold_returns_the_first_one_and_another_payload_conflicts() -> None:
    wallet = funded()
    first = wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0)
    count = len(wallet.pending_events)
    assert wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0 + timedelta(minutes=1)) is first
    assert len(wallet.pending_events) == count
    unchanged_after(wallet, lambda: wallet.place_hold(hold_id="h", amount=31, ttl=timedelta(minutes=15), at=T0),
                    ConflictingCommand)


def test_a_capture_consumes_part_of_a_hold_and_returns_the_rest_to_its_grants() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0)
    hold = wallet.capture(hold_id="h", amount=25, at=T0)
    event = wallet.pending_events[-1]
    assert isinstance(event, Wallet.HoldCaptured)
    assert (event.consumed, event.returned) == ({"promo": 20, "paid": 5}, {"paid": 5})
    assert (hold.status, hold.captured) == ("captured", 25)
    assert (wallet.available(T0), wallet.held, wallet.consumed) == (95, 0, 25)


def test_a_capture_cannot_exceed_its_hold() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0)
    unchanged_after(wallet, lambda: wallet.capture(hold_id="h", amount=31, at=T0), CaptureExceedsHold)


def test_a_release_returns_every_held_credit_and_a_repeat_changes_nothing() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0)
    wallet.release(hold_id="h", at=T0)
    assert (wallet.available(T0), wallet.held) == (120, 0)
    assert {g.grant_id: g.remaining for g in wallet.grants.values()} == {"paid": 100, "promo": 20}
    count = len(wallet.pending_events)
    assert wallet.release(hold_id="h", at=T0).status == "released"
    assert len(wallet.pending_events) == count
    unchanged_after(wallet, lambda: wallet.capture(hold_id="h", amount=30, at=T0), HoldAlreadyResolved)


def test_a_hold_past_its_deadline_expires_before_any_later_decision() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=10), at=T0)
    later = T0 + timedelta(minutes=11)
    assert wallet.due_holds(later) == ["h"]
    buy(wallet, grant_id="more", credits=5, at=later)
    kinds = [type(e).__name__ for e in wallet.pending_events[-2:]]
    assert kinds == ["HoldExpired", "CreditsPurchased"]
    assert (wallet.hold("h").status, wallet.held, wallet.available(later)) == ("expired", 0, 125)
    with pytest.raises(HoldAlreadyResolved):
        wallet.capture(hold_id="h", amount=30, at=later)


def test_a_pending_hold_cannot_be_captured_after_its_deadline() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=10), at=T0)
    with pytest.raises(HoldAlreadyResolved):
        wallet.capture(hold_id="h", amount=30, at=T0 + timedelta(minutes=10))


def test_a_hold_cannot_be_expired_before_its_deadline() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=10), at=T0)
    unchanged_after(wallet, lambda: wallet.expire_hold(hold_id="h", at=T0 + timedelta(minutes=9)), InvalidCommand)
    assert wallet.expire_hold(hold_id="h", at=T0 + timedelta(minutes=10)).status == "expired"


def test_expired_grants_are_written_off_once() -> None:
    wallet = funded()
    assert wallet.expire_credits(T0 + DAY) is True
    event = wallet.pending_events[-1]
    assert isinstance(event, Wallet.CreditsExpired)
    assert event.expired == {"promo": 20}
    assert (wallet.expired, wallet.remaining) == (20, 100)
    count = len(wallet.pending_events)
    assert wallet.expire_credits(T0 + 2 * DAY) is False
    assert len(wallet.pending_events) == count


def test_credits_returned_to_a_grant_that_expired_meanwhile_are_written_off() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=2 * DAY, at=T0)
    wallet.release(hold_id="h", at=T0 + DAY + timedelta(hours=1))
    event = wallet.pending_events[-1]
    assert (event.returned, event.expired) == ({"paid": 10}, {"promo": 20})
    assert (wallet.available(T0 + 2 * DAY), wallet.expired) == (100, 20)


def test_a_refund_claws_back_the_unspent_credits_and_pays_back_their_share_of_the_price() -> None:
    wallet = opened()
    buy(wallet, credits=100)
    wallet.place_hold(hold_id="h", amount=40, ttl=timedelta(minutes=15), at=T0)
    wallet.capture(hold_id="h", amount=40, at=T0)
    wallet.close_grant(Wallet.PurchaseRefunded, grant_id="paid", reference="pay-paid", at=T0, source="purchase")
    event = wallet.pending_events[-1]
    assert isinstance(event, Wallet.PurchaseRefunded)
    assert (event.clawed_back, event.spent, event.held, event.refund) == (60, 40, 0, Money(5940, "INR"))
    assert (wallet.available(T0), wallet.grants["paid"].closed) == (0, "refunded")
    unchanged_after(wallet, lambda: wallet.close_grant(Wallet.PurchaseRefunded, grant_id="paid",
                                                       reference="pay-paid", at=T0, source="purchase"),
                    ConflictingCommand)


def test_credits_held_from_a_refunded_grant_are_clawed_back_when_the_hold_ends() -> None:
    wallet = opened()
    buy(wallet, credits=100)
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=15), at=T0)
    wallet.close_grant(Wallet.PurchaseRefunded, grant_id="paid", reference="pay-paid", at=T0, source="purchase")
    assert (wallet.pending_events[-1].clawed_back, wallet.pending_events[-1].held) == (70, 30)
    wallet.release(hold_id="h", at=T0)
    assert wallet.pending_events[-1].clawed_back == {"paid": 30}
    assert (wallet.available(T0), wallet.clawed_back) == (0, 100)


def test_only_a_grant_from_the_named_source_can_be_closed() -> None:
    wallet = funded()
    unchanged_after(wallet, lambda: wallet.close_grant(Wallet.PurchaseRefunded, grant_id="promo",
                                                       reference="x", at=T0, source="purchase"), InvalidCommand)


def test_a_negative_adjustment_takes_available_credits_and_never_overdraws() -> None:
    wallet = funded()
    wallet.adjust(delta=-30, reason="duplicate pack", reference="adj-1", grant_id="adj-1", at=T0)
    assert wallet.pending_events[-1].taken == {"promo": 20, "paid": 10}
    assert (wallet.available(T0), wallet.clawed_back) == (90, 30)
    unchanged_after(wallet, lambda: wallet.adjust(delta=-91, reason="too much", reference="adj-2",
                                                  grant_id="adj-2", at=T0), InsufficientCredits)


def test_a_positive_adjustment_adds_a_grant_of_its_own() -> None:
    wallet = opened()
    wallet.adjust(delta=15, reason="goodwill", reference="adj-1", grant_id="adj-1", at=T0)
    assert (wallet.grants["adj-1"].source, wallet.available(T0)) == ("adjustment", 15)


@pytest.mark.parametrize(("delta", "reason", "error"), [(0, "none", InvalidAmount), (True, "bool", InvalidAmount),
                                                         (5, "  ", InvalidCommand)])
def test_an_adjustment_is_a_non_zero_whole_number_with_a_reason(delta: Any, reason: str, error: type) -> None:
    wallet = funded()
    unchanged_after(wallet, lambda: wallet.adjust(delta=delta, reason=reason, reference="a", grant_id="a", at=T0),
                    error)


def test_share_bonuses_are_counted_per_day_for_the_latest_days_only() -> None:
    wallet = opened()
    days = [f"2026-01-{d:02d}" for d in range(1, 10)]
    for n, day in enumerate([days[0], days[0], *days[1:]]):
        wallet.grant(Wallet.ShareBonusGranted, grant_id=f"s{n}", amount=1, at=T0, reference=f"s{n}", day=day)
    assert wallet.share_bonuses_on(days[-1]) == 1
    assert len(wallet.shares_per_day()) == Wallet.DAYS_KEPT
    assert wallet.share_bonuses_on(days[0]) == 0  # the oldest days are dropped


def test_only_the_latest_resolved_holds_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Wallet, "RESOLVED_HOLDS_KEPT", 2)
    wallet = funded()
    for hold_id in ("a", "b", "c"):
        wallet.place_hold(hold_id=hold_id, amount=1, ttl=DAY, at=T0)
        wallet.release(hold_id=hold_id, at=T0)
    assert sorted(wallet.holds) == ["b", "c"]
    assert wallet.resolved == ["b", "c"]


def test_every_event_carries_the_hash_of_the_one_before() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=DAY, at=T0)
    wallet.capture(hold_id="h", amount=10, at=T0)
    events = events_of(wallet)
    for previous, event in pairwise(events):
        assert event.prev_hash == event_hash(previous)
    assert wallet.last_hash == event_hash(events[-1])


def test_replaying_its_events_rebuilds_the_same_wallet() -> None:
    wallet = funded()
    wallet.place_hold(hold_id="h", amount=30, ttl=timedelta(minutes=10), at=T0)
    wallet.capture(hold_id="h", amount=12, at=T0)
    wallet.place_hold(hold_id="late", amount=5, ttl=timedelta(minutes=10), at=T0)
    wallet.expire_credits(T0 + DAY)
    wallet.close_grant(Wallet.PurchaseRefunded, grant_id="paid", reference="pay-paid", at=T0 + DAY, source="purchase")
    rebuilt: Any = None
    for event in wallet.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == wallet.__dict__
