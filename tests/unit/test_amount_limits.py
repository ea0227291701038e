"""One limit for credits and one for money, the same at every edge and in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from api.http.schemas import AdjustmentCreate, GrantCreate
from api.messaging.dead_letters import error_code
from ledger import MAX_CREDITS, MAX_MINOR, MAX_TERM, InvalidAmount, InvalidCommand, Ledger, Money
from service.messages import PAYMENT_MESSAGES
from service.payments import apply_payment
from service.policy import Policy, load_policy

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HUGE = 10**20  # overflows every 64-bit integer column


@pytest.mark.parametrize("fields", [
    {"type": "WalletBalanceRedeemed", "redemption_id": "r-1", "user_id": "ana", "amount_minor": HUGE,
     "currency": "INR"},
    {"type": "CreditPackPurchased", "payment_id": "p-1", "user_id": "ana", "pack_id": "starter",
     "amount_minor": MAX_MINOR + 1, "currency": "INR"},
])
def test_a_payment_message_over_the_money_limit_is_refused_naming_the_field_and_the_bound(
        fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        PAYMENT_MESSAGES.validate_python(fields)
    [problem] = refused.value.errors()
    assert problem["loc"][-1] == "amount_minor" and problem["ctx"] == {"le": MAX_MINOR}
    assert error_code(refused.value) == "schema-violation"


def test_a_redemption_worth_more_credits_than_the_limit_is_refused(memory_ledger: Ledger) -> None:
    policy = load_policy()
    message = PAYMENT_MESSAGES.validate_python({"type": "WalletBalanceRedeemed", "redemption_id": "r-1",
                                                "user_id": "ana", "amount_minor": MAX_MINOR, "currency": "INR"})
    with pytest.raises(InvalidAmount, match=f"at most {MAX_CREDITS} credits") as refused:
        apply_payment(memory_ledger, policy, message, at=NOW)
    assert error_code(refused.value) == "invalid-amount"
    assert memory_ledger.wallet("ana") is None


@pytest.mark.parametrize("command", [
    lambda ledger: ledger.redeem(user_id="ana", redemption_id="r", amount=10, value=Money(HUGE, "INR"), at=NOW),
    lambda ledger: ledger.purchase(user_id="ana", payment_id="p", pack_id="x", amount=10,
                                   price=Money(MAX_MINOR + 1, "INR"), at=NOW),
    lambda ledger: ledger.purchase(user_id="ana", payment_id="p", pack_id="x", amount=HUGE,
                                   price=Money(900, "INR"), at=NOW),
    lambda ledger: ledger.grant_promo(user_id="ana", reference="g", amount=MAX_CREDITS + 1, reason="r", at=NOW,
                                      expires_at=None),
    lambda ledger: ledger.grant_referral_bonus(referral_id="f", awards=[{"user_id": "ana", "credits": HUGE,
                                                                         "role": "referrer"}],
                                               at=NOW, expires_at=None),
    lambda ledger: ledger.adjust(user_id="ana", reference="a", delta=MAX_CREDITS + 1, reason="r", at=NOW),
    lambda ledger: ledger.adjust(user_id="ana", reference="a", delta=-HUGE, reason="r", at=NOW),
    lambda ledger: ledger.place_hold(user_id="ana", hold_id="h", amount=HUGE, at=NOW),
    lambda ledger: ledger.grant_share_bonus(user_id="ana", reference="s", amount=HUGE, at=NOW, expires_at=None),
], ids=["redeemed-value", "price", "purchased-credits", "promo", "referral", "adjustment-up", "adjustment-down",
        "hold", "share"])
def test_the_ledger_refuses_an_amount_over_its_limit_and_writes_nothing(memory_ledger: Ledger, command: Any) -> None:
    with pytest.raises(InvalidAmount, match="at most"):
        command(memory_ledger)
    assert memory_ledger.wallet("ana") is None


def test_the_limits_themselves_are_accepted(memory_ledger: Ledger) -> None:
    memory_ledger.redeem(user_id="ana", redemption_id="r", amount=MAX_CREDITS, value=Money(MAX_MINOR, "INR"), at=NOW)
    wallet = memory_ledger.wallet("ana")
    assert wallet is not None and wallet.available(NOW) == MAX_CREDITS


def test_admin_bodies_use_the_same_credit_limit() -> None:
    assert GrantCreate(amount=MAX_CREDITS, reason="r").amount == MAX_CREDITS
    with pytest.raises(ValidationError, match=f"less than or equal to {MAX_CREDITS}"):
        GrantCreate(amount=MAX_CREDITS + 1, reason="r")
    with pytest.raises(ValidationError, match=f"greater than or equal to -{MAX_CREDITS}"):
        AdjustmentCreate(delta=-HUGE, reason="r")


@pytest.mark.parametrize(("path", "value"), [
    (("packs", 0, "credits"), HUGE), (("packs", 0, "price_minor"), MAX_MINOR + 1),
    (("referral", "referrer_credits"), HUGE), (("share", "credits"), HUGE),
    (("redemption", "credits_per_major_unit"), HUGE), (("referral", "expires_in_days"), 10**7),
])
def test_a_policy_over_a_limit_is_refused_naming_the_field(path: tuple[Any, ...], value: int) -> None:
    data = load_policy().model_dump()
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ValidationError) as refused:
        Policy.model_validate(data)
    assert refused.value.errors()[0]["loc"] == path


@pytest.mark.parametrize("expires_at", [NOW + MAX_TERM + timedelta(seconds=1),
                                        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))])
def test_the_ledger_refuses_a_grant_lasting_longer_than_the_longest_term(memory_ledger: Ledger,
                                                                         expires_at: datetime) -> None:
    with pytest.raises(InvalidCommand, match=f"more than {MAX_TERM.days} days after"):
        memory_ledger.grant_promo(user_id="ana", reference="g", amount=5, reason="r", at=NOW, expires_at=expires_at)
    memory_ledger.grant_promo(user_id="ana", reference="g", amount=5, reason="r", at=NOW, expires_at=NOW + MAX_TERM)
