"""What finance asks of a replay: balances as of an instant, the journal of a period, a summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.postings import Posting
from projections.audit.fold import Replay
from projections.audit.reconciliations import RECONCILIATION
from projections.audit.reconciliations import journal_entry as reconciliation_entry
from projections.audit.state import TemplateState, WalletState
from projections.audit.stored import Row
from projections.audit.templates import journal_entry
from projections.audit.trust import journal_entry as trust_entry

PERIODS = {"day": 10, "month": 7, "year": 4}
FREE = ("referral", "share", "promo", "adjustment")
CREDIT_FIGURES = tuple(f"{kind}_{group}" for group in ("issued", "consumed", "expired", "clawed_back")
                       for kind in ("paid", "bonus"))
MONEY_FIGURES = ("cash_received", "revenue", "breakage_income", "refunds_paid", "clawback_income")
# Every summary has these columns, in this order, whatever its data: a CSV header never changes.
SUMMARY_COLUMNS = ("period", "outstanding_credits", "deferred_revenue", *CREDIT_FIGURES, *MONEY_FIGURES)


def balance_rows(folded: Replay, at: datetime) -> list[dict[str, Any]]:
    """Every wallet's available, held and by-source credits at ``at``, by user."""
    out = [{"user_id": w.user_id, "available": w.available(at), "held": w.held, "by_source": w.by_source(at)}
           for w in folded.wallets.values()]
    return sorted(out, key=lambda r: str(r["user_id"]))


def utc(text: str) -> datetime:
    """An ISO 8601 instant as an aware UTC datetime; a naive one is refused."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"instant {text!r} has no time zone (add Z or +00:00)")
    return at.astimezone(UTC)


@dataclass
class JournalWindow:
    """Collects the journal lines of events in ``[start, end)`` and hands them to ``write``."""

    start: datetime | None
    end: datetime | None
    write: Callable[[dict[str, Any]], None]
    entries: int = 0

    def __call__(self, row: Row, wallet: WalletState, fields: dict[str, Any], lines: list[Posting]) -> None:
        """Write one event's entry if it happened inside the window."""
        at = utc(fields["timestamp"])
        if (self.start and at < self.start) or (self.end and at >= self.end):
            return
        self.entries += 1
        self.write({"position": row.position, "at": at.isoformat(), "event": row.kind, "user_id": wallet.user_id,
                    "lines": [{"account": p.account, "credits": p.credits, "money_minor": p.money_minor,
                               "currency": p.currency, "memo": p.memo} for p in lines]})

    def template(self, row: Row, template: TemplateState, fields: dict[str, Any]) -> None:
        """Write one template change (a zero line: who, what, why) if it happened inside the window."""
        at = utc(fields["timestamp"])
        if (self.start and at < self.start) or (self.end and at >= self.end):
            return
        self.entries += 1
        self.write(journal_entry(row, fields, template.template_id))

    def trust(self, row: Row, user_id: str, fields: dict[str, Any]) -> None:
        """Write one report, takedown, change of a learner's standing or reconciliation (a zero line) if inside the
        window."""
        at = utc(fields["timestamp"])
        if (self.start and at < self.start) or (self.end and at >= self.end):
            return
        self.entries += 1
        self.write(reconciliation_entry(row, fields) if row.topic.startswith(RECONCILIATION)
                   else trust_entry(row, fields, user_id))


@dataclass
class Period:
    """The figures of one period."""

    credits: dict[str, int] = field(default_factory=dict)
    money: dict[str, dict[str, int]] = field(default_factory=dict)

    def add_credits(self, name: str, n: int) -> None:
        """Add ``n`` credits to the figure ``name``."""
        self.credits[name] = self.credits.get(name, 0) + n

    def add_money(self, name: str, currency: str, minor: int) -> None:
        """Add ``minor`` units of ``currency`` to the figure ``name``."""
        per = self.money.setdefault(name, {})
        per[currency] = per.get(currency, 0) + minor


class Summary:
    """Liability, revenue, breakage, bonus credits, refunds and clawbacks, per period."""

    def __init__(self, by: str = "all") -> None:
        if by != "all" and by not in PERIODS:
            raise ValueError(f"unknown period {by!r}: use one of all, {', '.join(PERIODS)}")
        self.by = by
        self.periods: dict[str, Period] = {}

    def __call__(self, row: Row, wallet: WalletState, fields: dict[str, Any], lines: list[Posting]) -> None:
        """Add one event's postings to its period."""
        key = utc(fields["timestamp"]).isoformat()[: PERIODS[self.by]] if self.by != "all" else "all"
        period = self.periods.get(key) or self.periods.setdefault(key, Period())
        for p in lines:
            _add(period, p)

    def rows(self) -> list[dict[str, Any]]:
        """One row per period, in order, with the credits and deferred revenue outstanding at its end."""
        out = []
        liability = 0
        deferred: dict[str, int] = {}
        for key in sorted(self.periods):
            period = self.periods[key]
            liability += period.credits.pop("liability_change", 0)
            for currency, minor in period.money.pop("deferred_change", {}).items():
                deferred[currency] = deferred.get(currency, 0) + minor
            row: dict[str, Any] = {"period": key, "outstanding_credits": liability, "deferred_revenue": dict(deferred)}
            row.update({name: period.credits.get(name, 0) for name in CREDIT_FIGURES})
            row.update({name: dict(period.money.get(name, {})) for name in MONEY_FIGURES})
            unknown = (set(period.credits) | set(period.money)) - set(SUMMARY_COLUMNS)
            if unknown:  # a journal account this summary does not know: say so rather than drop it
                raise ValueError(f"the summary has no column for {sorted(unknown)}")
            out.append(row)
        return out


def _add(period: Period, p: Posting) -> None:
    kind, _, rest = p.account.partition(":")
    group, _, source = rest.partition(":")
    if kind == "credits":
        if group == "user":
            period.add_credits("liability_change", -p.credits)
        else:
            period.add_credits(f"{'bonus' if source in FREE else 'paid'}_{group}", abs(p.credits))
    elif group == "deferred_revenue":
        period.add_money("deferred_change", p.currency, -p.money_minor)
    elif group == "cash":
        period.add_money("cash_received", p.currency, p.money_minor)
    else:
        period.add_money(group, p.currency, -p.money_minor)
