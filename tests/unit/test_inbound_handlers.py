"""Inbound messages applied to the ledger by the plain handler functions (memory store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from ledger import ConflictingCommand, Ledger, UnknownReference
from service.messages import (
    PAYMENT_MESSAGES,
    REFERRAL_MESSAGES,
    CreditPackPurchased,
    PaymentRefunded,
    ReferralConverted,
    ReferralReversed,
    WalletBalanceRedeemed,
)
from service.payments import PriceMismatch, TooSmall, UnknownPack, UnsupportedCurrency, apply_payment
from service.policy import Policy, load_policy
from service.referrals import SelfReferral, apply_referral
from tests.conftest import T0

pytestmark = pytest.mark.unit


@pytest.fixture
def policy() -> Policy:
    """The shipped credit policy."""
    return load_policy()


def payment(**fields: object) -> CreditPackPurchased | WalletBalanceRedeemed | PaymentRefunded:
    """A payment-flow message validated from JSON-like data."""
    return PAYMENT_MESSAGES.validate_python(fields)


def referral(**fields: object) -> ReferralConverted | ReferralReversed:
    """An affiliate message validated from JSON-like data."""
    return REFERRAL_MESSAGES.validate_python(fields)


def purchase(payment_id: str = "pay-1", pack_id: str = "starter", amount_minor: int = 900,
             currency: str = "INR") -> CreditPackPurchased | WalletBalanceRedeemed | PaymentRefunded:
    """A CreditPackPurchased message for user ana."""
    return payment(type="CreditPackPurchased", payment_id=payment_id, user_id="ana", pack_id=pack_id,
                   amount_minor=amount_minor, currency=currency)


def available(ledger: Ledger, user: str) -> int:
    """The user's available credits a minute after T0."""
    wallet = ledger.wallet(user)
    return 0 if wallet is None else wallet.available(T0 + timedelta(minutes=1))


def test_a_pack_purchase_credits_the_packs_credits(memory_ledger: Ledger, policy: Policy) -> None:
    apply_payment(memory_ledger, policy, purchase(pack_id="creator", amount_minor=4900), at=T0)
    assert available(memory_ledger, "ana") == 550


def test_a_purchase_applied_twice_credits_once(memory_ledger: Ledger, policy: Policy) -> None:
    first = apply_payment(memory_ledger, policy, purchase(), at=T0)
    again = apply_payment(memory_ledger, policy, purchase(), at=T0 + timedelta(hours=1))
    assert available(memory_ledger, "ana") == 100
    assert again.repeated and again.position == first.position


def test_an_unknown_pack_is_rejected_and_changes_nothing(memory_ledger: Ledger, policy: Policy) -> None:
    with pytest.raises(UnknownPack, match="no pack 'mega'"):
        apply_payment(memory_ledger, policy, purchase(pack_id="mega"), at=T0)
    assert memory_ledger.wallet("ana") is None


@pytest.mark.parametrize(("amount", "currency"), [(800, "INR"), (900, "USD")])
def test_a_price_that_is_not_the_packs_is_rejected(memory_ledger: Ledger, policy: Policy, amount: int,
                                                   currency: str) -> None:
    with pytest.raises(PriceMismatch, match="starter costs 900 INR"):
        apply_payment(memory_ledger, policy, purchase(amount_minor=amount, currency=currency), at=T0)


def test_a_redemption_credits_at_the_configured_rate(memory_ledger: Ledger, policy: Policy) -> None:
    message = payment(type="WalletBalanceRedeemed", redemption_id="r-1", user_id="ana", amount_minor=2550,
                      currency="INR")
    apply_payment(memory_ledger, policy, message, at=T0)
    assert available(memory_ledger, "ana") == 255  # 25.50 INR at 10 credits per rupee


def test_a_redemption_in_another_currency_or_below_one_credit_is_rejected(memory_ledger: Ledger,
                                                                          policy: Policy) -> None:
    usd = payment(type="WalletBalanceRedeemed", redemption_id="r-1", user_id="ana", amount_minor=100, currency="USD")
    tiny = payment(type="WalletBalanceRedeemed", redemption_id="r-2", user_id="ana", amount_minor=5, currency="INR")
    with pytest.raises(UnsupportedCurrency):
        apply_payment(memory_ledger, policy, usd, at=T0)
    with pytest.raises(TooSmall):
        apply_payment(memory_ledger, policy, tiny, at=T0)


def test_a_refund_claws_back_the_purchase(memory_ledger: Ledger, policy: Policy) -> None:
    apply_payment(memory_ledger, policy, purchase(), at=T0)
    apply_payment(memory_ledger, policy, payment(type="PaymentRefunded", payment_id="pay-1"), at=T0)
    assert available(memory_ledger, "ana") == 0


def test_a_refund_of_an_unknown_payment_is_an_unknown_reference(memory_ledger: Ledger, policy: Policy) -> None:
    with pytest.raises(UnknownReference):
        apply_payment(memory_ledger, policy, payment(type="PaymentRefunded", payment_id="never"), at=T0)


def test_a_payment_id_reused_for_another_pack_is_a_conflict(memory_ledger: Ledger, policy: Policy) -> None:
    apply_payment(memory_ledger, policy, purchase(), at=T0)
    with pytest.raises(ConflictingCommand):
        apply_payment(memory_ledger, policy, purchase(pack_id="creator", amount_minor=4900), at=T0)


def test_a_referral_grants_the_configured_bonus_to_both_users_with_expiry(memory_ledger: Ledger,
                                                                          policy: Policy) -> None:
    message = referral(type="ReferralConverted", referral_id="ref-1", referrer_user_id="ana",
                       referee_user_id="bo", occurred_at=T0.isoformat())
    apply_referral(memory_ledger, policy, message, at=T0 + timedelta(days=5))
    assert available(memory_ledger, "ana") == policy.referral.referrer_credits
    assert available(memory_ledger, "bo") == policy.referral.referee_credits
    wallet = memory_ledger.wallet("ana")
    assert wallet is not None
    # The expiry runs from when the service applied it (five days after the referral happened).
    expiry = T0 + timedelta(days=5 + policy.referral.expires_in_days)
    assert wallet.available(expiry - timedelta(seconds=1)) == policy.referral.referrer_credits
    assert wallet.available(expiry) == 0


def test_a_reversal_claws_back_the_unspent_bonus(memory_ledger: Ledger, policy: Policy) -> None:
    converted = referral(type="ReferralConverted", referral_id="ref-1", referrer_user_id="ana",
                         referee_user_id="bo", occurred_at=T0.isoformat())
    apply_referral(memory_ledger, policy, converted, at=T0)
    apply_referral(memory_ledger, policy, referral(type="ReferralReversed", referral_id="ref-1"), at=T0)
    assert available(memory_ledger, "ana") == available(memory_ledger, "bo") == 0


def test_reversing_an_unknown_referral_is_an_unknown_reference(memory_ledger: Ledger, policy: Policy) -> None:
    with pytest.raises(UnknownReference):
        apply_referral(memory_ledger, policy, referral(type="ReferralReversed", referral_id="nope"), at=T0)


def test_a_self_referral_is_rejected(memory_ledger: Ledger, policy: Policy) -> None:
    message = referral(type="ReferralConverted", referral_id="ref-1", referrer_user_id="ana",
                       referee_user_id="ana", occurred_at=T0.isoformat())
    with pytest.raises(SelfReferral):
        apply_referral(memory_ledger, policy, message, at=T0)


@pytest.mark.parametrize("fields", [
    {"type": "CreditPackPurchased", "payment_id": "p", "user_id": "u", "pack_id": "starter", "amount_minor": -1,
     "currency": "INR"},
    {"type": "CreditPackPurchased", "payment_id": "p", "user_id": "u", "pack_id": "starter", "amount_minor": 900,
     "currency": "INR", "version": 2},
    {"type": "PaymentRefunded"},
    {"type": "Chargeback", "payment_id": "p"},
])
def test_payment_messages_that_break_the_schema_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PAYMENT_MESSAGES.validate_python(fields)


def test_a_referral_conversion_needs_a_time_zone_aware_occurred_at() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        REFERRAL_MESSAGES.validate_python({"type": "ReferralConverted", "referral_id": "r", "referrer_user_id": "a",
                                           "referee_user_id": "b", "occurred_at": "2026-01-01T00:00:00"})
