"""Scenario tests of every ledger command and error, on memory, SQLite and PostgreSQL,
committing each command alone and in groups."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from ledger import (
    CaptureExceedsHold,
    ConflictingCommand,
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    InvalidAmount,
    InvalidCommand,
    Ledger,
    Money,
    UnknownReference,
    wallet_id,
)
from ledger.values import event_hash
from ledger.wallet import Wallet
from tests.conftest import T0

pytestmark = pytest.mark.integration
INR = "INR"


def buy(ledger: Ledger, user: str = "alice", payment: str = "pay-1", credits: int = 100, at=T0):
    return ledger.purchase(user_id=user, payment_id=payment, pack_id="starter", amount=credits,
                           price=Money(credits * 99, INR), at=at)


def wallet(ledger: Ledger, user: str = "alice") -> Wallet:
    found = ledger.wallet(user)
    assert found is not None
    return found


def stored_types(ledger: Ledger, user: str = "alice") -> list[str]:
    return [type(e).__name__ for e in ledger.events.get(wallet(ledger, user).id)]


def head(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


# Credits in.

def test_a_purchase_credits_a_paid_grant_that_never_expires(ledger: Ledger) -> None:
    outcome = buy(ledger)
    w = wallet(ledger)
    assert w.available(T0 + timedelta(days=3650)) == 100
    assert w.by_source(T0) == {"purchase": 100}
    assert stored_types(ledger) == ["WalletOpened", "CreditsPurchased"]
    assert outcome.position == head(ledger)


def test_a_repeated_purchase_changes_nothing_and_returns_the_first_position(ledger: Ledger) -> None:
    first = buy(ledger)
    again = buy(ledger)
    assert again.repeated and again.position == first.position
    assert wallet(ledger).available(T0) == 100


def test_a_payment_id_reused_with_another_payload_is_a_conflict(ledger: Ledger) -> None:
    buy(ledger)
    with pytest.raises(ConflictingCommand, match="pay-1"):
        buy(ledger, credits=550)
    with pytest.raises(ConflictingCommand, match="pay-1"):
        buy(ledger, user="bob")
    assert ledger.wallet("bob") is None


def test_a_redemption_credits_wallet_balance_as_a_paid_grant(ledger: Ledger) -> None:
    ledger.redeem(user_id="alice", redemption_id="red-1", amount=250, value=Money(2500, INR), at=T0)
    assert wallet(ledger).by_source(T0) == {"redemption": 250}


def test_a_referral_bonus_credits_the_referrer_and_the_referee_once(ledger: Ledger) -> None:
    awards = [{"user_id": "alice", "credits": 50, "role": "referrer"},
              {"user_id": "bob", "credits": 20, "role": "referee"}]
    first = ledger.grant_referral_bonus(referral_id="ref-1", awards=awards, at=T0, expires_at=T0 + timedelta(days=90))
    again = ledger.grant_referral_bonus(referral_id="ref-1", awards=awards, at=T0, expires_at=T0 + timedelta(days=90))
    assert again.position == first.position and again.repeated
    assert wallet(ledger, "alice").by_source(T0) == {"referral": 50}
    assert wallet(ledger, "bob").by_source(T0) == {"referral": 20}


def test_a_share_bonus_is_granted_once_per_reference(ledger: Ledger) -> None:
    for _ in range(3):
        ledger.grant_share_bonus(user_id="alice", reference="gen-1", amount=5, at=T0, expires_at=None)
    assert wallet(ledger).available(T0) == 5


def test_promo_credits_stop_being_available_at_their_expiry_and_are_then_written_off(ledger: Ledger) -> None:
    ledger.grant_promo(user_id="alice", reference="welcome", amount=30, reason="welcome gift", at=T0,
                       expires_at=T0 + timedelta(days=7))
    assert wallet(ledger).available(T0 + timedelta(days=6)) == 30
    assert wallet(ledger).available(T0 + timedelta(days=7)) == 0
    ledger.expire_credits(user_id="alice", at=T0 + timedelta(days=8))
    w = wallet(ledger)
    assert (w.expired, w.remaining) == (30, 0)
    assert stored_types(ledger)[-1] == "CreditsExpired"


def test_a_grant_that_would_expire_before_it_is_granted_is_rejected(ledger: Ledger) -> None:
    with pytest.raises(InvalidCommand, match="promo-x"):
        ledger.grant_promo(user_id="alice", reference="promo-x", amount=5, reason="r", at=T0, expires_at=T0)


def test_a_positive_adjustment_adds_credits_with_its_reason(ledger: Ledger) -> None:
    ledger.adjust(user_id="alice", reference="adj-1", delta=40, reason="support ticket 17", at=T0)
    event = list(ledger.events.get(wallet(ledger).id))[-1]
    assert isinstance(event, Wallet.CreditsAdjusted) and event.reason == "support ticket 17"
    assert wallet(ledger).by_source(T0) == {"adjustment": 40}


def test_a_negative_adjustment_takes_available_credits_and_counts_them_as_clawed_back(ledger: Ledger) -> None:
    buy(ledger)
    ledger.adjust(user_id="alice", reference="adj-2", delta=-30, reason="duplicate purchase", at=T0)
    w = wallet(ledger)
    assert (w.available(T0), w.clawed_back) == (70, 30)
    with pytest.raises(InsufficientCredits, match="alice"):
        ledger.adjust(user_id="alice", reference="adj-3", delta=-71, reason="too much", at=T0)


def test_an_adjustment_without_a_reason_is_rejected_and_writes_nothing(ledger: Ledger) -> None:
    buy(ledger)
    before = head(ledger)
    with pytest.raises(InvalidCommand, match="reason"):
        ledger.adjust(user_id="alice", reference="adj-4", delta=5, reason="  ", at=T0)
    assert head(ledger) == before


@pytest.mark.parametrize("amount", [0, -5, 2.5, True])
def test_amounts_that_are_not_positive_whole_credits_are_invalid(ledger: Ledger, amount: object) -> None:
    with pytest.raises(InvalidAmount):
        ledger.purchase(user_id="alice", payment_id="p", pack_id="x", amount=amount,  # type: ignore[arg-type]
                        price=Money(100, INR), at=T0)
    assert head(ledger) == 0
    before = buy(ledger).position
    with pytest.raises(InvalidAmount):
        ledger.place_hold(user_id="alice", hold_id="h", amount=amount, at=T0)  # type: ignore[arg-type]
    assert head(ledger) == before


def test_a_money_amount_needs_an_iso_currency() -> None:
    with pytest.raises(InvalidAmount, match="currency"):
        Money(100, "rupees")


# Burn order.

def test_holds_burn_soonest_expiry_first_then_free_before_paid_then_oldest(ledger: Ledger) -> None:
    buy(ledger, credits=10)                                     # paid, never expires
    ledger.grant_share_bonus(user_id="alice", reference="s1", amount=10, at=T0, expires_at=None)  # free
    ledger.grant_promo(user_id="alice", reference="p1", amount=10, reason="r", at=T0,
                       expires_at=T0 + timedelta(days=2))       # free, expires soonest
    ledger.grant_share_bonus(user_id="alice", reference="s2", amount=10, at=T0, expires_at=None)  # free, newer
    ledger.place_hold(user_id="alice", hold_id="h1", amount=35, at=T0)
    w = wallet(ledger)
    sources = [(w.grants[g].source, n) for g, n in w.holds["h1"].portions.items()]
    assert sources == [("promo", 10), ("share", 10), ("share", 10), ("purchase", 5)]
    first_share = next(g for g in w.grants.values() if g.source == "share")
    assert list(w.holds["h1"].portions)[1] == first_share.grant_id


# Holds.

def test_a_hold_reserves_credits_so_they_are_not_available(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    w = wallet(ledger)
    assert (w.available(T0), w.held) == (70, 30)


def test_a_hold_larger_than_the_available_credits_is_rejected_and_writes_nothing(ledger: Ledger) -> None:
    buy(ledger)
    before = head(ledger)
    with pytest.raises(InsufficientCredits, match="wallet alice has 100 credits available, 101 needed"):
        ledger.place_hold(user_id="alice", hold_id="h1", amount=101, at=T0)
    assert head(ledger) == before
    assert wallet(ledger).holds == {}


def test_a_capture_consumes_part_of_the_hold_and_returns_the_rest(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    ledger.capture(user_id="alice", hold_id="h1", amount=12, at=T0 + timedelta(seconds=5))
    w = wallet(ledger)
    assert (w.available(T0), w.held, w.consumed) == (88, 0, 12)
    assert w.holds["h1"].status == "captured"


def test_a_capture_larger_than_the_hold_is_rejected(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    with pytest.raises(CaptureExceedsHold, match="hold h1 on wallet alice"):
        ledger.capture(user_id="alice", hold_id="h1", amount=31, at=T0)
    assert wallet(ledger).holds["h1"].status == "pending"


def test_release_returns_credits_to_the_grants_they_came_from(ledger: Ledger) -> None:
    buy(ledger, credits=10)
    ledger.grant_share_bonus(user_id="alice", reference="s1", amount=5, at=T0, expires_at=None)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=12, at=T0)
    ledger.release(user_id="alice", hold_id="h1", at=T0)
    w = wallet(ledger)
    assert sorted((g.source, g.remaining) for g in w.grants.values()) == [("purchase", 10), ("share", 5)]
    assert (w.available(T0), w.held) == (15, 0)


def test_a_hold_resolves_exactly_once(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    released = ledger.release(user_id="alice", hold_id="h1", at=T0)
    assert ledger.release(user_id="alice", hold_id="h1", at=T0).position == released.position
    with pytest.raises(HoldAlreadyResolved, match="already released"):
        ledger.capture(user_id="alice", hold_id="h1", amount=30, at=T0)
    assert wallet(ledger).available(T0) == 100


def test_a_repeated_capture_returns_the_first_result_and_another_amount_is_a_conflict(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    first = ledger.capture(user_id="alice", hold_id="h1", amount=10, at=T0)
    assert ledger.capture(user_id="alice", hold_id="h1", amount=10, at=T0).position == first.position
    with pytest.raises(HoldAlreadyResolved):
        ledger.capture(user_id="alice", hold_id="h1", amount=11, at=T0)
    assert wallet(ledger).consumed == 10


def test_a_repeated_hold_with_another_amount_is_a_conflict(ledger: Ledger) -> None:
    buy(ledger)
    first = ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    assert ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0).position == first.position
    with pytest.raises(ConflictingCommand, match="h1"):
        ledger.place_hold(user_id="alice", hold_id="h1", amount=31, at=T0)
    assert wallet(ledger).held == 30


def test_capturing_or_releasing_an_unknown_hold_is_hold_not_found(ledger: Ledger) -> None:
    buy(ledger)
    with pytest.raises(HoldNotFound, match="wallet alice has no hold nope"):
        ledger.capture(user_id="alice", hold_id="nope", amount=1, at=T0)
    with pytest.raises(HoldNotFound):
        ledger.release(user_id="alice", hold_id="nope", at=T0)


def test_a_hold_past_its_deadline_cannot_be_captured_and_expires_back_to_its_grants(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0, expires_at=T0 + timedelta(minutes=15))
    with pytest.raises(InvalidCommand, match="due at"):
        ledger.expire_hold(user_id="alice", hold_id="h1", at=T0 + timedelta(minutes=14))
    late = T0 + timedelta(minutes=16)
    with pytest.raises(HoldAlreadyResolved, match="expired"):
        ledger.capture(user_id="alice", hold_id="h1", amount=30, at=late)
    ledger.expire_hold(user_id="alice", hold_id="h1", at=late)
    w = wallet(ledger)
    assert (w.available(late), w.held, w.holds["h1"].status) == (100, 0, "expired")


def test_credits_returned_to_an_expired_grant_are_written_off_as_expired(ledger: Ledger) -> None:
    ledger.grant_promo(user_id="alice", reference="p1", amount=20, reason="r", at=T0,
                       expires_at=T0 + timedelta(minutes=10))
    ledger.place_hold(user_id="alice", hold_id="h1", amount=20, at=T0, expires_at=T0 + timedelta(minutes=30))
    ledger.release(user_id="alice", hold_id="h1", at=T0 + timedelta(minutes=20))
    w = wallet(ledger)
    assert (w.available(T0 + timedelta(minutes=20)), w.expired, w.remaining) == (0, 20, 0)


# Refunds and reversals.

def test_a_refund_claws_back_only_the_unspent_credits_and_records_what_was_spent(ledger: Ledger) -> None:
    buy(ledger, credits=100)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=40, at=T0)
    ledger.capture(user_id="alice", hold_id="h1", amount=40, at=T0)
    ledger.refund_purchase(payment_id="pay-1", at=T0 + timedelta(days=1))
    event = list(ledger.events.get(wallet(ledger).id))[-1]
    assert isinstance(event, Wallet.PurchaseRefunded)
    assert (event.clawed_back, event.spent, event.refund) == (60, 40, Money(60 * 99, INR))
    w = wallet(ledger)
    assert (w.available(T0), w.consumed, w.clawed_back) == (0, 40, 60)
    assert ledger.refund_purchase(payment_id="pay-1", at=T0 + timedelta(days=1)).repeated


def test_a_refund_of_an_unknown_payment_is_an_unknown_reference(ledger: Ledger) -> None:
    with pytest.raises(UnknownReference, match="payment nope"):
        ledger.refund_purchase(payment_id="nope", at=T0)


def test_credits_held_from_a_refunded_purchase_are_clawed_back_when_released(ledger: Ledger) -> None:
    buy(ledger, credits=50)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=20, at=T0)
    ledger.refund_purchase(payment_id="pay-1", at=T0)
    ledger.release(user_id="alice", hold_id="h1", at=T0)
    w = wallet(ledger)
    assert (w.available(T0), w.clawed_back, w.remaining) == (0, 50, 0)


def test_a_referral_reversal_claws_back_the_unspent_bonus_of_both_wallets(ledger: Ledger) -> None:
    awards = [{"user_id": "alice", "credits": 50, "role": "referrer"},
              {"user_id": "bob", "credits": 20, "role": "referee"}]
    ledger.grant_referral_bonus(referral_id="ref-1", awards=awards, at=T0, expires_at=None)
    ledger.place_hold(user_id="bob", hold_id="h1", amount=5, at=T0)
    ledger.capture(user_id="bob", hold_id="h1", amount=5, at=T0)
    ledger.reverse_referral(referral_id="ref-1", at=T0)
    assert (wallet(ledger, "alice").clawed_back, wallet(ledger, "alice").available(T0)) == (50, 0)
    assert (wallet(ledger, "bob").clawed_back, wallet(ledger, "bob").consumed) == (15, 5)
    with pytest.raises(UnknownReference, match="referral ref-2"):
        ledger.reverse_referral(referral_id="ref-2", at=T0)


# Generations.

def request(ledger: Ledger, key: str = "k1", cost: int = 10, at=T0):
    return ledger.request_generation(user_id="alice", request_key=key, template_id="poster-bold",
                                     template_version=1, variables={"headline": "Hi"}, input_image=None,
                                     cost=cost, at=at)


RESULT = {"image_url": "/media/x.png", "storage_id": "x", "provider": "local", "model": "pillow",
          "seed": 7, "timings": {"model": 0.01}}


def test_a_generation_request_holds_its_cost_atomically_with_the_request(ledger: Ledger) -> None:
    buy(ledger)
    outcome = request(ledger)
    generation = ledger.generation(outcome.value)
    assert generation is not None and generation.status == "requested"
    w = wallet(ledger)
    assert w.holds[generation.hold_id].amount == 10 and w.available(T0) == 90
    assert request(ledger).position == outcome.position


def test_a_generation_request_without_enough_credits_writes_nothing(ledger: Ledger) -> None:
    buy(ledger, credits=5)
    before = head(ledger)
    with pytest.raises(InsufficientCredits):
        request(ledger)
    assert head(ledger) == before


def test_completing_a_generation_captures_its_cost_once(ledger: Ledger) -> None:
    buy(ledger)
    gen_id = request(ledger).value
    ledger.start_generation(generation_id=gen_id, worker="w1", at=T0)
    first = ledger.complete_generation(generation_id=gen_id, at=T0 + timedelta(seconds=3), **RESULT)
    again = ledger.complete_generation(generation_id=gen_id, at=T0 + timedelta(seconds=4), **RESULT)
    assert again.position == first.position
    with pytest.raises(ConflictingCommand):
        ledger.complete_generation(generation_id=gen_id, at=T0, **{**RESULT, "seed": 8})
    w = wallet(ledger)
    assert (w.consumed, w.available(T0)) == (10, 90)


def test_failing_a_generation_releases_its_hold(ledger: Ledger) -> None:
    buy(ledger)
    gen_id = request(ledger).value
    ledger.fail_generation(generation_id=gen_id, reason="content policy", retryable=False, at=T0)
    generation = ledger.generation(gen_id)
    assert generation is not None and (generation.status, generation.reason) == ("failed", "content policy")
    assert wallet(ledger).available(T0) == 100


def test_a_late_completion_is_charged_when_the_credits_are_there(ledger: Ledger) -> None:
    buy(ledger)
    gen_id = request(ledger).value
    ledger.complete_generation(generation_id=gen_id, at=T0 + timedelta(minutes=20), **RESULT)
    generation = ledger.generation(gen_id)
    assert generation is not None and generation.captured == 10
    w = wallet(ledger)
    assert (w.consumed, w.available(T0), w.holds[generation.hold_id].status) == (10, 90, "expired")


def test_a_late_completion_without_credits_is_written_off_not_made_negative(ledger: Ledger) -> None:
    buy(ledger, credits=10)
    gen_id = request(ledger).value
    ledger.place_hold(user_id="alice", hold_id="other", amount=10, at=T0 + timedelta(minutes=16),
                      expires_at=T0 + timedelta(hours=1))
    ledger.complete_generation(generation_id=gen_id, at=T0 + timedelta(minutes=20), **RESULT)
    events = list(ledger.events.get(gen_id))
    completed = events[-1]
    assert isinstance(completed, ledger.generation(gen_id).GenerationCompleted)  # type: ignore[union-attr]
    assert (completed.late, completed.captured) == ("written_off", 0)
    assert wallet(ledger).available(T0 + timedelta(minutes=20)) == 0


def test_sharing_needs_a_finished_image_of_the_same_user(ledger: Ledger) -> None:
    buy(ledger)
    gen_id = request(ledger).value
    with pytest.raises(Exception, match="only a finished image"):
        ledger.share_generation(generation_id=gen_id, user_id="alice", token="t1", at=T0)
    ledger.complete_generation(generation_id=gen_id, at=T0, **RESULT)
    with pytest.raises(UnknownReference):
        ledger.share_generation(generation_id=gen_id, user_id="mallory", token="t1", at=T0)
    assert ledger.share_generation(generation_id=gen_id, user_id="alice", token="t1", at=T0).value == "t1"
    assert ledger.share_generation(generation_id=gen_id, user_id="alice", token="t2", at=T0).value == "t1"


# History.

def test_every_wallet_event_carries_the_hash_of_the_previous_one(ledger: Ledger) -> None:
    buy(ledger)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=30, at=T0)
    ledger.capture(user_id="alice", hold_id="h1", amount=30, at=T0)
    events = list(ledger.events.get(wallet(ledger).id))
    assert events[0].prev_hash == "0" * 64
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == event_hash(previous)
    assert wallet(ledger).last_hash == event_hash(events[-1])


def test_a_long_wallet_history_is_loaded_from_a_snapshot_with_the_same_state(ledger: Ledger) -> None:
    buy(ledger, credits=1000)
    for i in range(120):
        ledger.place_hold(user_id="alice", hold_id=f"h{i}", amount=1, at=T0)
    w = wallet(ledger)
    assert ledger.snapshots is not None and list(ledger.snapshots.get(w.id))
    folded = None
    for event in ledger.events.get(w.id):
        folded = event.mutate(folded)
    assert folded == w


def test_wallets_whose_histories_grow_in_step_are_snapshotted_at_different_versions(ledger: Ledger) -> None:
    users = [f"user-{n}" for n in range(3)]
    for user in users:
        buy(ledger, user=user, payment=f"pay-{user}", credits=1000)
    for i in range(98):  # every wallet reaches the same versions, command after command
        for user in users:
            ledger.place_hold(user_id=user, hold_id=f"h{i}", amount=1, at=T0)
    assert {wallet(ledger, user).version for user in users} == {100}
    assert ledger.snapshots is not None
    versions = {user: [s.originator_version for s in ledger.snapshots.get(wallet_id(user))] for user in users}
    assert all(len(v) == 1 for v in versions.values())  # one in a hundred versions, at a phase of its own
    assert len({v[0] for v in versions.values()}) == len(users)
    for user in users:  # and each loads to the same state as its full history
        folded = None
        for event in ledger.events.get(wallet_id(user)):
            folded = event.mutate(folded)
        assert folded == ledger.wallet(user)
