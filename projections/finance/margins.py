"""Margins per template, provider and day: the revenue a generation recognised, against what its model calls
cost at the provider, and the credits it consumed, from the ledger alone.

One pass over the stored events in ledger order. A generation's ``GenerationRequested`` names its template;
its ending (``GenerationCompleted`` or ``GenerationFailed``) names the day (UTC), the provider and the cost
(``provider_cost``: micro-dollars, or unknown in events recorded before costs were kept and from workers that
did not say); each capture of the hold that paid for it adds the revenue its paid credits released and the
credits it consumed (``projections.finance.recognition``). A failed generation captures nothing: it earns
nothing, and whatever its charged calls cost is a loss of that day.

Money is converted into one reporting currency at configured rates per US dollar (``Rates``), each row
rounded once, half to even, to a minor unit; totals add the rounded rows, so every column foots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import takewhile
from typing import Any

from eventsourcing.application import Application

from projections.audit.stored import Row, decode, head, rows
from projections.finance.recognition import FREE, Recognised, recognise
from projections.finance.revenue import check_range

GENERATION_TOPIC = "ledger.generation:Generation."
ENDINGS = ("GenerationCompleted", "GenerationFailed")
UNKNOWN_PROVIDER = "unknown"  # a failure recorded without a cost names no provider
MICRO = Decimal(1_000_000)
# ISO 4217 minor units of the currencies that do not have two (every other currency has two).
EXPONENTS = {"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
             "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
             "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3}
FIGURES = ("generations", "completed", "failed", "charged_calls", "credits_consumed", "revenue_minor",
           "cost_micro_usd", "cost_minor", "margin_minor", "unknown_cost")
# Every row has these columns in this order (money in minor units of ``currency``): a CSV header never changes.
COLUMNS = ("day", "template_id", "provider", "currency", *FIGURES, "margin_percent")


class MissingRate(ValueError):
    """Money in a currency the configured rates do not convert."""


@dataclass(frozen=True)
class Rates:
    """How many units of each currency one US dollar buys; ``currency`` is the one the report is kept in."""

    currency: str
    per_usd: Mapping[str, Decimal]

    def rate(self, currency: str) -> Decimal:
        """Units of ``currency`` per US dollar (1 for USD); ``MissingRate`` when none is configured."""
        if currency == "USD":
            return Decimal(1)
        found = self.per_usd.get(currency)
        if found is None:
            raise MissingRate(f"no exchange rate for {currency}: add it to STUDIO_FINANCE_USD_RATES")
        return found

    def from_micro_usd(self, micro_usd: int) -> Decimal:
        """``micro_usd`` in minor units of the reporting currency (exact, not rounded)."""
        return Decimal(micro_usd) / MICRO * self.rate(self.currency) * Decimal(10) ** exponent(self.currency)

    def from_minor(self, minor: int, currency: str) -> Decimal:
        """``minor`` units of ``currency`` in minor units of the reporting currency (exact, not rounded)."""
        if currency == self.currency:
            return Decimal(minor)
        dollars = Decimal(minor) / Decimal(10) ** exponent(currency) / self.rate(currency)
        return dollars * self.rate(self.currency) * Decimal(10) ** exponent(self.currency)


def exponent(currency: str) -> int:
    """The number of minor-unit digits of ``currency`` (ISO 4217)."""
    return EXPONENTS.get(currency, 2)


def whole(amount: Decimal) -> int:
    """``amount`` rounded half to even to a whole minor unit."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(slots=True)
class Made:
    """One generation as margins see it."""

    template_id: str
    provider: str = UNKNOWN_PROVIDER
    ended: date | None = None
    failed: bool = False
    calls: int = 0
    micro_usd: int | None = None  # None: unknown
    credits: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # minor units by currency


class MarginBook:
    """Follows the stored events and keeps, per generation, its template, ending, cost, credits and revenue."""

    def __init__(self, start: date | None = None, end: date | None = None) -> None:
        self.made: dict[str, Made] = {}
        self.position = 0
        # Only the generations that end in [start, end) are kept past their ending (memory in proportion to the
        # range's generations and those in flight, not to the whole log); None keeps every one.
        self.start, self.end = start, end

    def fold(self, rows: Iterable[Row]) -> MarginBook:
        """Fold ``rows`` (stored events in ledger order) into the book; the book."""
        for item in recognise(self._watch(rows)):
            self.captured(item)
        return self

    def _watch(self, rows: Iterable[Row]) -> Iterator[Row]:
        # The recogniser reads the wallet rows; the generation rows are read here on their way to it.
        for row in rows:
            self.position = row.position
            if row.topic.startswith(GENERATION_TOPIC):
                self.generation(row.kind, row.originator_id, decode(row.state))
            yield row

    def generation(self, kind: str, generation_id: str, fields: Mapping[str, Any]) -> None:
        """Note a generation's request or ending."""
        if kind == "GenerationRequested":
            self.made[generation_id] = Made(template_id=str(fields["template_id"]))
            return
        made = self.made.get(generation_id)
        if kind not in ENDINGS or made is None:
            return
        made.ended = datetime.fromisoformat(fields["timestamp"]).date()  # stored in UTC
        if (self.start and made.ended < self.start) or (self.end and made.ended >= self.end):
            del self.made[generation_id]  # its capture, just after, finds nothing to add to
            return
        made.failed = kind == "GenerationFailed"
        cost = fields.get("provider_cost")
        made.provider = str(fields.get("provider") or UNKNOWN_PROVIDER)  # the image's (a failure names none)
        if isinstance(cost, dict):  # else unknown: no calls counted, no cost, and the row says so
            made.provider = str(cost.get("provider") or made.provider)
            made.calls = int(cost.get("calls") or 0)
            made.micro_usd = cost.get("micro_usd")

    def captured(self, item: Recognised) -> None:
        """Add a capture's revenue and credits to the generation its hold paid for."""
        made = self.made.get(item.generation_id or "")
        if made is None:
            return
        made.credits += item.credits
        if item.currency != FREE:
            made.revenue[item.currency] = made.revenue.get(item.currency, 0) + item.minor

    def report(self, start: date, end: date, rates: Rates) -> MarginReport:
        """The rows of the generations that ended in ``[start, end)``; ``MissingRate`` for money not convertible."""
        groups: dict[tuple[str, str, str], list[Made]] = {}
        for made in self.made.values():
            if made.ended is not None and start <= made.ended < end:
                groups.setdefault((made.ended.isoformat(), made.template_id, made.provider), []).append(made)
        days = [margin_row(key, group, rates) for key, group in sorted(groups.items())]
        by_template: dict[str, list[dict[str, Any]]] = {}
        for row in days:
            by_template.setdefault(row["template_id"], []).append(row)
        templates = [total(rows, rates.currency, template_id=t) for t, rows in sorted(by_template.items())]
        return MarginReport(start=start, end=end, position=self.position, rates=rates, days=days,
                            templates=templates, total=total(days, rates.currency, template_id=""))


def margin_row(key: tuple[str, str, str], group: list[Made], rates: Rates) -> dict[str, Any]:
    """The figures of one day, template and provider."""
    day, template_id, provider = key
    known = [m.micro_usd for m in group if m.micro_usd is not None]
    revenue = sum((rates.from_minor(minor, currency) for m in group for currency, minor in m.revenue.items()),
                  Decimal(0))
    cost_micro = sum(known)
    row = {"day": day, "template_id": template_id, "provider": provider, "currency": rates.currency,
           "generations": len(group), "completed": sum(not m.failed for m in group),
           "failed": sum(m.failed for m in group), "charged_calls": sum(m.calls for m in group),
           "credits_consumed": sum(m.credits for m in group), "revenue_minor": whole(revenue),
           "cost_micro_usd": cost_micro, "cost_minor": whole(rates.from_micro_usd(cost_micro)),
           "unknown_cost": len(group) - len(known)}
    return finish(row)


def total(rows: list[dict[str, Any]], currency: str, *, template_id: str) -> dict[str, Any]:
    """The sum of ``rows`` (every figure; the margin again from the sums)."""
    row: dict[str, Any] = {"day": "", "template_id": template_id, "provider": "", "currency": currency}
    for name in FIGURES:
        row[name] = sum(r[name] for r in rows)
    return finish(row)


def finish(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its margin (revenue less known cost) and margin percent of revenue ("" without revenue)."""
    row["margin_minor"] = row["revenue_minor"] - row["cost_minor"]
    row["margin_percent"] = ""
    if row["revenue_minor"]:
        percent = Decimal(row["margin_minor"]) * 100 / row["revenue_minor"]
        row["margin_percent"] = str(percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN))
    return {name: row[name] for name in COLUMNS}


@dataclass(frozen=True)
class MarginReport:
    """Margins of the days in ``[start, end)`` as of ledger ``position``: per day, template and provider, per
    template, and in total, in minor units of ``rates.currency``."""

    start: date
    end: date
    position: int
    rates: Rates
    days: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    total: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON values."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "position": self.position,
                "currency": self.rates.currency,
                "usd_rates": {c: str(r) for c, r in sorted(self.rates.per_usd.items())},
                "unknown_cost": self.total["unknown_cost"], "days": self.days, "templates": self.templates,
                "total": self.total}


def margins_report(app: Application[Any], start: date, end: date, rates: Rates, *,
                   position: int | None = None) -> MarginReport:
    """Margins of the days in ``[start, end)`` from ``app``'s events up to ``position`` (the whole log when
    None); ``ValueError`` for a range ``check_range`` refuses, a position past the log or a missing rate."""
    check_range(start, end)
    last = head(app)
    if position is not None and not 0 <= position <= last:
        raise ValueError(f"as-of position {position} is outside the ledger, which has positions 0 to {last}")
    until = last if position is None else position
    pages = rows(app)
    try:
        logged = (r for page in pages for r in page)
        book = MarginBook(start, end).fold(takewhile(lambda r: r.position <= until, logged))
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # on PostgreSQL: ends the server-side cursor and its reading thread now
    book.position = until
    return book.report(start, end, rates)
