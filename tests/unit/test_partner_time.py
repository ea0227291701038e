"""A partner's clock is recorded, bounded and never the wallet's clock: the ledger's time is the service's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.messaging.dead_letters import error_code
from ledger import ConflictingCommand, InvalidCommand, Ledger, Wallet
from ledger.reference import Reference
from ledger.steps import grant_credits
from service.messages import PAYMENT_MESSAGES, REFERRAL_MESSAGES, PaymentMessage, ReferralMessage
from service.occurred import OccurredBounds, OccurredInFuture, OccurredLongAgo
from service.payments import apply_payment
from service.policy import Policy, load_policy
from service.referrals import apply_referral
from service.settings.messaging import MessagingSettings

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def policy() -> Policy:
    """The shipped credit policy."""
    return load_policy()


def purchase(occurred_at: str | None, payment_id: str = "pay-1") -> PaymentMessage:
    """A CreditPackPurchased of the starter pack for ana, stamped ``occurred_at`` by the payment flow."""
    fields = {"type": "CreditPackPurchased", "payment_id": payment_id, "user_id": "ana", "pack_id": "starter",
              "amount_minor": 900, "currency": "INR"}
    return PAYMENT_MESSAGES.validate_python({**fields, **({"occurred_at": occurred_at} if occurred_at else {})})


def conversion(occurred_at: str, referral_id: str = "ref-1") -> ReferralMessage:
    """A ReferralConverted of bo by ana, stamped ``occurred_at`` by the affiliate system."""
    return REFERRAL_MESSAGES.validate_python({"type": "ReferralConverted", "referral_id": referral_id,
                                              "referrer_user_id": "ana", "referee_user_id": "bo",
                                              "occurred_at": occurred_at})


def test_a_purchase_stamped_hours_ahead_is_refused_and_generations_keep_working(memory_ledger: Ledger,
                                                                                 policy: Policy) -> None:
    # Local time (UTC+5:30) labelled Z: five and a half hours ahead of the service's clock.
    ahead = (NOW + timedelta(hours=5, minutes=30)).isoformat()
    with pytest.raises(OccurredInFuture, match=r"occurred_at .* ahead of the service's clock.*at most 0:05:00") \
            as refused:
        apply_payment(memory_ledger, policy, purchase(ahead), at=NOW)
    assert error_code(refused.value) == "occurred-in-future" and refused.value.field == "occurred_at"
    assert memory_ledger.wallet("ana") is None
    apply_payment(memory_ledger, policy, purchase(None, "pay-2"), at=NOW)
    memory_ledger.place_hold(user_id="ana", hold_id="gen-1", amount=5, at=NOW + timedelta(seconds=1))


def test_a_purchase_stamped_within_the_skew_happens_at_the_service_clock_and_keeps_its_own_time(
        memory_ledger: Ledger, policy: Policy) -> None:
    reported = NOW + timedelta(minutes=4)
    apply_payment(memory_ledger, policy, purchase(reported.isoformat()), at=NOW)
    wallet = memory_ledger.wallet("ana")
    assert wallet is not None and wallet.modified_on == NOW
    record = memory_ledger.load(Reference.id_for("payment", "pay-1"))
    assert isinstance(record, Reference) and record.reported_at == reported and record.created_on == NOW
    # A hold placed a second later is not dated before the purchase: the wallet's clock was never moved on.
    memory_ledger.place_hold(user_id="ana", hold_id="gen-1", amount=5, at=NOW + timedelta(seconds=1),
                             expires_at=NOW + timedelta(minutes=2))


@pytest.mark.parametrize("stamp", ["2035-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_referral_stamped_years_ahead_is_refused_with_its_reason_not_an_overflow(
        memory_ledger: Ledger, policy: Policy, stamp: str) -> None:
    apply_payment(memory_ledger, policy, purchase(None), at=NOW)
    with pytest.raises(OccurredInFuture) as refused:
        apply_referral(memory_ledger, policy, conversion(stamp), at=NOW)
    assert error_code(refused.value) == "occurred-in-future"
    wallet = memory_ledger.wallet("ana")
    assert wallet is not None and wallet.available(NOW) == 100 and wallet.modified_on == NOW


@pytest.mark.parametrize("stamp", ["2001-09-09T01:46:40Z", "0001-01-01T00:00:00Z"])
def test_a_message_stamped_longer_ago_than_allowed_is_refused(memory_ledger: Ledger, policy: Policy,
                                                              stamp: str) -> None:
    with pytest.raises(OccurredLongAgo, match="at most 30 days") as refused:
        apply_referral(memory_ledger, policy, conversion(stamp), at=NOW)
    assert error_code(refused.value) == "occurred-too-long-ago"
    assert memory_ledger.wallet("ana") is None


def test_a_redelivered_referral_is_a_repeat_though_the_service_clock_moved_on(memory_ledger: Ledger,
                                                                             policy: Policy) -> None:
    message = conversion(NOW.isoformat())
    first = apply_referral(memory_ledger, policy, message, at=NOW)
    again = apply_referral(memory_ledger, policy, message, at=NOW + timedelta(hours=1))
    assert again.repeated and again.position == first.position


def test_the_bounds_come_from_the_settings_and_a_bad_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_OCCURRED_AT_MAX_SKEW_S", "60")
    monkeypatch.setenv("STUDIO_OCCURRED_AT_MAX_AGE_DAYS", "7")
    assert MessagingSettings().occurred_bounds() == OccurredBounds(max_skew=timedelta(minutes=1),
                                                                   max_age=timedelta(days=7))
    monkeypatch.setenv("STUDIO_OCCURRED_AT_MAX_AGE_DAYS", "0")
    with pytest.raises(ValueError, match="occurred_at_max_age_days"):
        MessagingSettings()


def test_a_duration_added_past_the_last_date_is_a_refusal_naming_what(memory_ledger: Ledger,
                                                                       policy: Policy) -> None:
    last_day = datetime(9999, 12, 31, 23, 50, tzinfo=UTC)
    memory_ledger.grant_promo(user_id="ana", reference="p", amount=10, reason="r", at=last_day, expires_at=None)
    with pytest.raises(InvalidCommand, match=r"hold h1: .* past the last representable date"):
        memory_ledger.place_hold(user_id="ana", hold_id="h1", amount=5, at=last_day)
    with pytest.raises(InvalidCommand, match="past the last representable date"):
        policy.referral.expiry(last_day)


def test_a_referral_recorded_while_its_expiry_was_fingerprinted_is_still_a_repeat(memory_ledger: Ledger) -> None:
    awards: list[dict[str, Any]] = [{"user_id": "ana", "credits": 50, "role": "referrer"}]
    # As the earlier version recorded it: the expiry, from the message's occurred_at, in the fingerprint.
    first = memory_ledger.execute(lambda unit: grant_credits(
        unit, kind="referral", reference="ref-old", awards=awards, event_class=Wallet.ReferralBonusGranted, at=NOW,
        price=None,
        expires_at=NOW + timedelta(days=90)))
    later = NOW + timedelta(hours=1)
    again = memory_ledger.grant_referral_bonus(referral_id="ref-old", awards=awards, at=later,
                                               expires_at=later + timedelta(days=90))
    assert again.repeated and again.position == first.position
    with pytest.raises(ConflictingCommand):
        memory_ledger.grant_referral_bonus(referral_id="ref-old", awards=[{**awards[0], "credits": 60}], at=later,
                                           expires_at=later + timedelta(days=90))
