"""The ledger side of the sample settlement reports in tests/data/finance: a week of purchases, one refunded,
that each report settles, mismatches, lacks or repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger import Ledger, Money
from service.settlement_matching import Rules

SAMPLES = Path(__file__).parents[1] / "data" / "finance"
RULES = Rules(window=timedelta(days=3), tolerance=timedelta(hours=24))
# What every sample reconciles to against ``a_week_of_payments``.
EXPECTED = {"matched": 5, "amount_mismatch": 1, "paid_no_credits": 1, "credits_not_settled": 2, "duplicate": 1,
            "refund_mismatch": 1}
PREFIX = {"generic": "pay_", "razorpay": "pay_", "stripe": "pi_"}  # how each provider names a payment


def at(text: str) -> datetime:
    """An instant of March 2026, UTC."""
    return datetime.fromisoformat(f"2026-03-{text}").replace(tzinfo=UTC)


def a_week_of_payments(ledger: Ledger, prefix: str) -> None:
    """A (settled), B (settled at another amount), C (settled and refunded), D (settled; the provider refunded it,
    the ledger did not), E (never settled, overdue), F (paid within the window), G (settled, the generic report
    names no id for it)."""
    inr = "INR"
    for name, user, minor, when in (("A1001", "asha", 49900, "01T10:00"), ("B1002", "ravi", 99900, "01T11:00"),
                                    ("C1003", "asha", 49900, "01T12:00"), ("D1004", "meera", 49900, "02T09:00"),
                                    ("E1005", "ravi", 19900, "01T08:00"), ("F1006", "meera", 19900, "05T10:00"),
                                    ("G1007", "asha", 39900, "02T10:00")):
        ledger.purchase(user_id=user, payment_id=f"{prefix}{name}", pack_id="pack", amount=100,
                        price=Money(minor, inr), at=at(when))
    ledger.refund_purchase(payment_id=f"{prefix}C1003", at=at("02T12:00"))
