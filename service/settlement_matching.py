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

import bisect
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
    payments = _Index((p.price_minor, p.currency, p.paid_at, p) for p in by_id.values())
    refunds = _Index((p.refund_minor, p.currency, p.refunded_at, p) for p in by_id.values()
                     if p.refund_minor is not None and p.refunded_at is not None)
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
            found = by_id.get(line.payment_id) if line.payment_id else payments.nearest(
                line, settled, before=rules.window + rules.tolerance, after=rules.tolerance)
            out.append(_payment(line, found, settled))
        else:
            found = by_id.get(line.payment_id) if line.payment_id else refunds.nearest(
                line, refunds_seen, before=rules.window + rules.tolerance, after=rules.window + rules.tolerance)
            out.append(_refund(line, found, refunds_seen))
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


def _refund(line: SettlementLine, paid: Paid | None, seen: set[str]) -> dict[str, Any]:
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


class _Index:
    """Payments (or refunds) by amount and currency, in time order: what a line without an id may be."""

    def __init__(self, entries: Iterable[tuple[int | None, str, datetime | None, Paid]]) -> None:
        self.buckets: dict[tuple[int | None, str], list[tuple[datetime, str, Paid]]] = {}
        for minor, currency, when, paid in entries:
            if when is not None:
                self.buckets.setdefault((minor, currency), []).append((when, paid.payment_id, paid))
        for bucket in self.buckets.values():
            bucket.sort(key=lambda entry: (entry[0], entry[1]))

    def nearest(self, line: SettlementLine, taken: set[str], *, before: timedelta, after: timedelta) -> Paid | None:
        """The one of the line's amount and currency, not ``taken``, at ``line.settled_at - before`` to ``+ after``,
        the closest in time (the earlier on a tie): looked for outwards from the line's instant."""
        bucket = self.buckets.get((line.amount_minor, line.currency), [])
        at = line.settled_at
        right = bisect.bisect_left(bucket, at, key=lambda entry: entry[0])
        left = right - 1
        while True:
            early = bucket[left] if left >= 0 and bucket[left][0] >= at - before else None
            late = bucket[right] if right < len(bucket) and bucket[right][0] <= at + after else None
            if early is None and late is None:
                return None
            if late is None or (early is not None and at - early[0] <= late[0] - at):
                left -= 1
                chosen = early
            else:
                right += 1
                chosen = late
            assert chosen is not None
            if chosen[1] not in taken:
                return chosen[2]


def _add(totals: dict[str, dict[str, int]], line: SettlementLine) -> None:
    into = totals.setdefault(line.currency, {"settled": 0, "refunded": 0, "fee": 0, "tax": 0, "net": 0})
    into["settled" if line.kind == "payment" else "refunded"] += line.amount_minor
    into["fee"] += line.fee_minor
    into["tax"] += line.tax_minor
    sign = 1 if line.kind == "payment" else -1
    into["net"] += sign * line.amount_minor - line.fee_minor - line.tax_minor
