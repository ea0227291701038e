"""Payment-flow messages to ledger commands: a plain function shared by the Kafka consumer and the webhook.

A message applied any number of times has one effect: every command is idempotent by the
message's own reference (payment or redemption id). A message that can never apply raises
``RejectedMessage`` (or a ``LedgerError``) and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from ledger import Ledger, Money, Outcome
from service.errors import RejectedMessage
from service.messages import CreditPackPurchased, Payment, WalletBalanceRedeemed, WalletDebitDeclined
from service.occurred import DEFAULT_BOUNDS, OccurredBounds, reported_time
from service.policy import Policy
from service.recharges import answered_recharge, apply_answer


class UnknownPack(RejectedMessage):
    """A purchase of a pack the policy does not sell."""

    code = "unknown-pack"


class PriceMismatch(RejectedMessage):
    """A purchase whose amount or currency is not the pack's price."""

    code = "price-mismatch"


class UnsupportedCurrency(RejectedMessage):
    """A redemption in a currency the redemption rate is not defined for."""

    code = "unsupported-currency"


class TooSmall(RejectedMessage):
    """A redemption worth less than one credit."""

    code = "too-small"


def apply_payment(ledger: Ledger, policy: Policy, message: Payment, *, at: datetime,
                  bounds: OccurredBounds = DEFAULT_BOUNDS) -> Outcome:
    """Apply a payment-flow message at ``at``, the service's clock; its ``occurred_at`` is recorded as
    reported, and refused when it is further from ``at`` than ``bounds`` allow."""
    reported = reported_time(message.occurred_at, now=at, bounds=bounds, what=f"{message.type} message")
    if isinstance(message, WalletDebitDeclined):
        return apply_answer(ledger, debit_id=message.debit_id, user_id=message.user_id,
                            amount_minor=message.amount_minor, currency=message.currency, declined=message.reason,
                            at=at)
    if isinstance(message, WalletBalanceRedeemed) and (
            message.debit_id is not None or answered_recharge(ledger, message.redemption_id) is not None):
        # The answer to a debit we asked for: the recharge's saga grants its credits, once, under the debit id.
        return apply_answer(ledger, debit_id=message.debit_id or message.redemption_id, user_id=message.user_id,
                            amount_minor=message.amount_minor, currency=message.currency, declined=None, at=at)
    if isinstance(message, CreditPackPurchased):
        pack = policy.pack(message.pack_id)
        if pack is None:
            raise UnknownPack(f"payment {message.payment_id}: no pack {message.pack_id!r} is for sale")
        if (message.amount_minor, message.currency) != (pack.price_minor, pack.currency):
            raise PriceMismatch(f"payment {message.payment_id}: pack {pack.id} costs {pack.price_minor} "
                                f"{pack.currency}, paid {message.amount_minor} {message.currency}")
        return ledger.purchase(user_id=message.user_id, payment_id=message.payment_id, pack_id=pack.id,
                               amount=pack.credits, price=Money(message.amount_minor, message.currency), at=at,
                               reported_at=reported)
    if isinstance(message, WalletBalanceRedeemed):
        rate = policy.redemption
        if message.currency != rate.currency:
            raise UnsupportedCurrency(f"redemption {message.redemption_id}: balance in {message.currency}, "
                                      f"redemption is in {rate.currency}")
        amount = rate.credits_for(message.amount_minor)
        if amount <= 0:
            raise TooSmall(f"redemption {message.redemption_id}: {message.amount_minor} {message.currency} "
                           "is worth less than one credit")
        return ledger.redeem(user_id=message.user_id, redemption_id=message.redemption_id, amount=amount,
                             value=Money(message.amount_minor, message.currency), at=at, reported_at=reported)
    return ledger.refund_purchase(payment_id=message.payment_id, at=at, reported_at=reported)

