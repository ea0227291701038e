"""Matching a settlement report's lines against the ledger's payments: by payment id first; a line that names
none by amount, currency and time. Each line, and each payment the report should have settled and did not, ends
as one ``LineOutcome``; fees and taxes are summed per currency.

- a payment line whose payment the ledger has, at the same amount and currency: ``matched``; at another:
  ``amount_mismatch``; one the ledger never credited: ``paid_no_credits``;
- a refund line the ledger's refund of that payment equals: ``matched``; else ``refund_mismatch``;
- a line repeating an earlier line's payment and kind (or, without an id, its amount, currency and instant):
  ``duplicate``, counted nowhere else;
- a purchase paid from ``window`` before the report's first settlement to its last that no line settled:
  ``credits_not_settled``, ``overdue`` once the report ends more than ``window`` after it was paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.reconciliation import LineOutcome
from service.settlement_files import SettlementLine


@dataclass(frozen=True)
class Paid:
    """A purchase or redemption as the ledger has it (``refund_minor``: what its refund paid back, if any)."""

    payment_id: str
    source: str  # purchase | redemption
    user_id: str
    price_minor: int
    currency: str
    paid_at: datetime
    refund_minor: int | None = None
    refunded_at: datetime | None = None


@dataclass(frozen=True)
class Rules:
    """The settlement window and the date tolerance for lines without a payment id."""

    window: timedelta
    tolerance: timedelta


@dataclass
class Matched:
    """A report's lines with their outcomes, its totals per currency, and the period it settled."""

    lines: list[dict[str, Any]]
    totals: dict[str, dict[str, int]]
    settled_from: datetime | None
    settled_to: datetime | None


def _line(line: SettlementLine | None, outcome: LineOutcome, *, paid: Paid | None = None, detail: str = "",
          overdue: bool = False, ledger_minor: int | None = None) -> dict[str, Any]:
    return {"line": line.line if line else None, "outcome": outcome.value,
            "payment_id": (line.payment_id if line else "") or (paid.payment_id if paid else ""),
            "kind": line.kind if line else "payment", "amount_minor": line.amount_minor if line else None,
            "currency": line.currency if line else (paid.currency if paid else ""),
            "settled_at": line.settled_at.isoformat() if line else None,
            "fee_minor": line.fee_minor if line else 0, "tax_minor": line.tax_minor if line else 0,
            "user_id": paid.user_id if paid else "", "ledger_minor": ledger_minor,
            "paid_at": paid.paid_at.isoformat() if paid else None, "overdue": overdue, "detail": detail}


def match(report: list[SettlementLine], known: Iterable[Paid], rules: Rules) -> Matched:
    """Each line's outcome, then the purchases of the report's period it lacks."""
    by_id: dict[str, Paid] = {}
    for paid in known:  # a purchase before a redemption of the same id: it is what a provider settles
        if paid.payment_id not in by_id or paid.source == "purchase":
            by_id[paid.payment_id] = paid
    settled: set[str] = set()
    refunds_seen: set[str] = set()
    first: dict[tuple[Any, ...], int] = {}
    out: list[dict[str, Any]] = []
    totals: dict[str, dict[str, int]] = {}
    for line in report:
        key = ((line.kind, line.payment_id) if line.payment_id
               else (line.kind, line.amount_minor, line.currency, line.settled_at))
        if key in first:
            out.append(_line(line, LineOutcome.DUPLICATE, detail=f"repeats line {first[key]}"))
            continue
        first[key] = line.line
        _add(totals, line)
        if line.kind == "payment":
            found = by_id.get(line.payment_id) if line.payment_id else _nearest(line, by_id.values(), settled, rules)
            out.append(_payment(line, found, settled))
        else:
            out.append(_refund(line, by_id, refunds_seen, rules))
    times = [line.settled_at for line in report]
    start, end = (min(times), max(times)) if times else (None, None)
    if start is not None and end is not None:
        for paid in sorted(by_id.values(), key=lambda p: (p.paid_at, p.payment_id)):
            if (paid.source == "purchase" and paid.payment_id not in settled
                    and start - rules.window <= paid.paid_at <= end):
                overdue = paid.paid_at + rules.window < end
                out.append(_line(None, LineOutcome.CREDITS_NOT_SETTLED, paid=paid, ledger_minor=paid.price_minor,
                                 overdue=overdue, detail=(f"paid {paid.paid_at.isoformat()}, not settled by "
                                                          f"{end.isoformat()}" if overdue else
                                                          "paid within the settlement window")))
    return Matched(out, totals, start, end)


def _payment(line: SettlementLine, paid: Paid | None, settled: set[str]) -> dict[str, Any]:
    if paid is None:
        return _line(line, LineOutcome.PAID_NO_CREDITS, detail="the ledger credited no payment with this id"
                     if line.payment_id else "no payment of this amount and currency near this date")
    settled.add(paid.payment_id)
    if (paid.price_minor, paid.currency) == (line.amount_minor, line.currency):
        return _line(line, LineOutcome.MATCHED, paid=paid, ledger_minor=paid.price_minor)
    return _line(line, LineOutcome.AMOUNT_MISMATCH, paid=paid, ledger_minor=paid.price_minor,
                 detail=f"the ledger credited {paid.price_minor} {paid.currency}, the provider settled "
                        f"{line.amount_minor} {line.currency}")


def _refund(line: SettlementLine, by_id: dict[str, Paid], seen: set[str], rules: Rules) -> dict[str, Any]:
    paid = by_id.get(line.payment_id) if line.payment_id else next(
        (p for p in by_id.values() if p.payment_id not in seen and p.refunded_at is not None
         and (p.refund_minor, p.currency) == (line.amount_minor, line.currency)
         and abs(p.refunded_at - line.settled_at) <= rules.window + rules.tolerance), None)
    if paid is None:
        return _line(line, LineOutcome.REFUND_MISMATCH, detail="the ledger has no payment with this id")
    seen.add(paid.payment_id)
    if paid.refund_minor is None:
        return _line(line, LineOutcome.REFUND_MISMATCH, paid=paid, detail="the ledger has not refunded this payment")
    if (paid.refund_minor, paid.currency) != (line.amount_minor, line.currency):
        return _line(line, LineOutcome.REFUND_MISMATCH, paid=paid, ledger_minor=paid.refund_minor,
                     detail=f"the ledger refunded {paid.refund_minor} {paid.currency} (the unspent credits' share), "
                            f"the provider {line.amount_minor} {line.currency}")
    return _line(line, LineOutcome.MATCHED, paid=paid, ledger_minor=paid.refund_minor)


def _nearest(line: SettlementLine, known: Iterable[Paid], settled: set[str], rules: Rules) -> Paid | None:
    """The unsettled payment of the line's amount and currency paid closest before it, within the window and
    the tolerance (``paid_at`` in ``[settled_at - window - tolerance, settled_at + tolerance]``)."""
    fits = [p for p in known if p.payment_id not in settled
            and (p.price_minor, p.currency) == (line.amount_minor, line.currency)
            and line.settled_at - rules.window - rules.tolerance <= p.paid_at <= line.settled_at + rules.tolerance]
    return min(fits, key=lambda p: (abs(line.settled_at - p.paid_at), p.payment_id), default=None)


def _add(totals: dict[str, dict[str, int]], line: SettlementLine) -> None:
    into = totals.setdefault(line.currency, {"settled": 0, "refunded": 0, "fee": 0, "tax": 0, "net": 0})
    into["settled" if line.kind == "payment" else "refunded"] += line.amount_minor
    into["fee"] += line.fee_minor
    into["tax"] += line.tax_minor
    sign = 1 if line.kind == "payment" else -1
    into["net"] += sign * line.amount_minor - line.fee_minor - line.tax_minor
