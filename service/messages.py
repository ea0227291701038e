"""Inbound message schemas: what the affiliate system and the payment flow send, versioned.

Each message names its ``type`` and schema ``version``; unknown extra fields are ignored so that
producers can add fields, while a field of the wrong type or a version we do not know is refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo

from ledger import MAX_MINOR
from ledger.names import USER_ID_MAX, check_user_id

REASON_CHARS = 200  # a decline's reason, as the learner reads it


def _user_id(value: str, info: ValidationInfo) -> str:
    return check_user_id(value, field=info.field_name or "user_id")


Reference = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
# The one rule for a user id (ledger.names), wherever a model takes one: a refusal names the field.
UserId = Annotated[str, Field(min_length=1, max_length=USER_ID_MAX), AfterValidator(_user_id)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
AmountMinor = Annotated[int, Field(gt=0, le=MAX_MINOR, description=f"minor units (paise, cents), at most {MAX_MINOR}")]


class InboundMessage(BaseModel):
    """Fields every inbound message has."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1] = 1
    occurred_at: AwareDatetime | None = None


class ReferralConverted(InboundMessage):
    """A referred user converted: the referrer (and maybe the referee) earn the referral bonus."""

    type: Literal["ReferralConverted"]
    referral_id: Reference
    referrer_user_id: UserId
    referee_user_id: UserId
    occurred_at: AwareDatetime


class ReferralReversed(InboundMessage):
    """A referral was cancelled: the unspent bonus is clawed back."""

    type: Literal["ReferralReversed"]
    referral_id: Reference


class CreditPackPurchased(InboundMessage):
    """A learner paid for a credit pack."""

    type: Literal["CreditPackPurchased"]
    payment_id: Reference
    user_id: UserId
    pack_id: Annotated[str, Field(min_length=1, max_length=64)]
    amount_minor: AmountMinor
    currency: Currency


class WalletBalanceRedeemed(InboundMessage):
    """A learner converted platform wallet balance into credits; with ``debit_id`` (or a ``redemption_id``
    that is one), the platform's confirmation of a debit we asked for on ``payments.requests``."""

    type: Literal["WalletBalanceRedeemed"]
    redemption_id: Reference
    user_id: UserId
    amount_minor: AmountMinor
    currency: Currency
    debit_id: Reference | None = None


def _printable(value: str) -> str:
    # A reason is shown to the learner and written to logs: a control character could forge a line there.
    bad = next((i for i, c in enumerate(value) if not c.isprintable()), None)
    if bad is not None:
        raise ValueError(f"the reason holds a control character at {bad}")
    return value


class WalletDebitDeclined(InboundMessage):
    """The platform refused a debit we asked for on ``payments.requests``, with a reason the learner sees."""

    type: Literal["WalletDebitDeclined"]
    debit_id: Reference
    user_id: UserId
    amount_minor: AmountMinor
    currency: Currency
    reason: Annotated[str, Field(min_length=1, max_length=REASON_CHARS), AfterValidator(_printable)]


class PaymentRefunded(InboundMessage):
    """A pack purchase was refunded: its unspent credits are clawed back."""

    type: Literal["PaymentRefunded"]
    payment_id: Reference


ReferralMessage = Annotated[ReferralConverted | ReferralReversed, Field(discriminator="type")]
Payment = CreditPackPurchased | WalletBalanceRedeemed | WalletDebitDeclined | PaymentRefunded
PaymentMessage = Annotated[Payment, Field(discriminator="type")]

REFERRAL_MESSAGES: TypeAdapter[ReferralConverted | ReferralReversed] = TypeAdapter(ReferralMessage)
PAYMENT_MESSAGES: TypeAdapter[Payment] = TypeAdapter(PaymentMessage)
