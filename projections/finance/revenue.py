"""Revenue, liability and breakage per day and month, per currency, from the ledger alone.

A ``RevenueBook`` follows the audit's replay (``Replay(on_entry=book)``) and keeps, per UTC day and per lot
currency (``FREE`` for bonus lots), two things that are computed apart so that each row can prove itself:

- the **flows**, from the journal's postings of each event: sales (cash received for paid credits), revenue
  recognised (paid credits consumed by a capture), breakage (paid credits that expired unspent, also when a
  hold's credits come back to a lot that has expired), refunds (cash paid back), and clawbacks (deferred
  revenue released without cash paid back: a negative adjustment's paid credits, the part of a refunded lot
  the refund does not pay, held credits that come back to a lot refunded meanwhile);
- the **stock**, from the lots themselves: each paid lot owes its price less what the credits that left it
  released (``projections.finance.recognition.released``), and the credits not yet consumed, expired or
  clawed back, held ones included.

Opening deferred revenue + sales - recognised - breakage - refunds - clawbacks = closing deferred revenue, and
opening credits + granted - consumed - expired - clawed back = closing credits, where opening and closing
are the stock: a row whose ``difference`` is not 0 found an event the flows and the lots tell apart.
Placing, releasing or expiring a hold moves credits between available and held only: no money moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.postings import GRANT_SOURCES, HOLD_ENDINGS, Posting, money_of
from projections.audit.fold import Replay
from projections.audit.reports import utc
from projections.audit.state import Finding, WalletState
from projections.audit.stored import Row
from projections.finance.recognition import FREE, released

MONEY_FLOWS = {"cash": "sales", "revenue": "recognised", "breakage_income": "breakage",
               "refunds_paid": "refunds", "clawback_income": "clawed_back"}
MONEY = ("sales", "recognised", "breakage", "refunds", "clawed_back")
CREDITS = ("granted", "consumed", "expired", "clawed_back")
# Every row has these columns in this order (money in minor units of ``currency``): a CSV header never changes.
COLUMNS = ("period", "currency", "opening_deferred", *MONEY, "closing_deferred", "difference",
           "opening_credits", *(f"credits_{name}" for name in CREDITS), "closing_credits", "credits_difference",
           "ties_out")
MAX_DAYS = 366
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


@dataclass(slots=True)
class Lot:
    """One grant as finance sees it: its price (0 for a bonus), its credits and how many have left it."""

    currency: str
    price_minor: int
    credits: int
    out: int = 0

    def owed_minor(self) -> int:
        """Deferred revenue still carried for this lot: its price less what its departed credits released."""
        return self.price_minor - released(self.price_minor, self.credits, min(self.out, self.credits))


@dataclass(slots=True)
class Day:
    """One day's figures in one currency: the flows, and the change in the lots' stock."""

    money: dict[str, int] = field(default_factory=dict)
    credits: dict[str, int] = field(default_factory=dict)
    stock_minor: int = 0
    stock_credits: int = 0
    position: int = 0  # the last event counted in it

    def add(self, into: dict[str, int], name: str, n: int) -> None:
        """Add ``n`` to the figure ``name``."""
        into[name] = into.get(name, 0) + n


class RevenueBook:
    """The replay's ``on_entry`` that keeps every day's flows and stock per currency (see the module)."""

    def __init__(self) -> None:
        self.lots: dict[tuple[str, str], Lot] = {}
        self.days: dict[str, dict[str, Day]] = {}  # ISO day -> currency -> figures
        self.position = 0
        self._flows: dict[str, tuple[bool, str] | None] = {}  # account -> (is money, figure), None if not counted

    def __call__(self, row: Row, wallet: WalletState, fields: dict[str, Any], lines: list[Posting]) -> None:
        """Count one wallet event's postings (flows) and what it did to its lots (stock)."""
        position = self.position = row.position
        stamp: str = fields["timestamp"]
        # the stored instants are UTC (``+00:00``): their day is their first ten characters
        day = stamp[:10] if stamp.endswith("+00:00") and len(stamp) > 10 else utc(stamp).date().isoformat()
        days = self.days.get(day)
        if days is None:
            days = self.days[day] = {}
        owner = row.originator_id
        lots = self.lots
        for grant_id, n in _lot_changes(row.kind, fields):
            key = (owner, grant_id)
            if n > 0:  # a new lot
                price = money_of(fields.get("price"))
                lot = lots[key] = Lot(price[1], price[0], n) if price else Lot(FREE, 0, n)
                figures = _figures(days, lot.currency, position)
                figures.stock_credits += n
                figures.stock_minor += lot.price_minor
                continue
            found = lots.get(key)
            if found is None:
                continue  # the replay reports a grant it never saw
            figures = _figures(days, found.currency, position)
            figures.stock_credits += n
            if found.price_minor:
                before = found.owed_minor()
                found.out -= n
                figures.stock_minor += found.owed_minor() - before
            else:
                found.out -= n
        flows = self._flows
        for p in lines:
            account = p.account
            if account.startswith("credits:user:"):  # a learner's own accounts: moves within the wallet
                continue
            flow = flows.get(account, _UNSEEN)
            if flow is _UNSEEN:
                flow = flows[account] = _flow(account)
            if flow is None:
                continue
            is_money, name = flow
            if is_money:  # cash is a debit, the rest credits: each counted as out
                figures = _figures(days, p.currency, position)
                figures.money[name] = figures.money.get(name, 0) + (p.money_minor if name == "sales" else
                                                                    -p.money_minor)
            else:
                granted = lots.get((owner, p.memo))
                figures = _figures(days, granted.currency if granted else FREE, position)
                figures.credits[name] = figures.credits.get(name, 0) + (p.credits if name == "granted" else
                                                                        -p.credits)

    def report(self, start: date, end: date) -> RevenueReport:
        """The days in ``[start, end)`` and their months, each with its identity checked."""
        return RevenueReport(start, end, self.position, list(_rows(self.days, start, end, by=10)),
                             list(_rows(self.days, start, end, by=7)))

    def findings(self) -> list[Finding]:
        """A finding for every day of the whole log, in any currency, whose identity does not tie out."""
        if not self.days:
            return []
        first, last = date.fromisoformat(min(self.days)), date.fromisoformat(max(self.days))
        out = []
        for row in _rows(self.days, first, last + timedelta(days=1), by=10):
            if not row["ties_out"]:
                position = self.days.get(row["period"], {}).get(row["currency"], Day()).position
                out.append(Finding("", position, "revenue identity", _problem(row)))
        return out


_UNSEEN = (False, "")  # an account not classified yet (``_flow`` answers the rest)


def _figures(days: dict[str, Day], currency: str, position: int) -> Day:
    """The day's figures in ``currency`` (made on first use), marked as counted up to ``position``."""
    found = days.get(currency)
    if found is None:
        found = days[currency] = Day()
    found.position = position
    return found


def _flow(account: str) -> tuple[bool, str] | None:
    """What a posting on ``account`` counts as: (True, a money flow), (False, a credits figure), or None."""
    kind, _, rest = account.partition(":")
    group, _, _ = rest.partition(":")
    if kind == "money" and group in MONEY_FLOWS:
        return True, MONEY_FLOWS[group]
    if kind == "credits" and group in ("issued", *CREDITS):
        return False, "granted" if group == "issued" else group
    return None


def revenue_findings(folded: Replay, book: RevenueBook) -> None:
    """Add to the replay's findings every day on which ``book`` (its ``on_entry``) does not tie out."""
    for finding in book.findings():
        folded.find(finding.user, (finding.position, finding.event), finding.problem)


def _problem(row: Mapping[str, Any]) -> str:
    return (f"{row['period']} {row['currency']}: opening {row['opening_deferred']} + sales {row['sales']} - recognised "
            f"{row['recognised']} - breakage {row['breakage']} - refunds {row['refunds']} - clawed back "
            f"{row['clawed_back']} is {row['closing_deferred'] + row['difference']}, but the lots carry "
            f"{row['closing_deferred']} (credits off by {row['credits_difference']})")


def _lot_changes(kind: str, fields: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """(grant id, +credits) for a new lot, (grant id, -credits) for credits that left one for good."""
    if kind in GRANT_SOURCES:
        if fields["credits"] > 0:
            yield str(fields["grant_id"]), fields["credits"]
        for grant_id, n in fields.get("taken", {}).items():
            yield grant_id, -n
    elif kind in HOLD_ENDINGS:
        for bucket in ("consumed", "expired", "clawed_back"):
            for grant_id, n in fields[bucket].items():
                yield grant_id, -n
    elif kind == "CreditsExpired":
        for grant_id, n in fields["expired"].items():
            yield grant_id, -n
    elif kind in ("PurchaseRefunded", "ReferralReversed"):
        yield str(fields["grant_id"]), -fields["clawed_back"]


def _rows(days: Mapping[str, Mapping[str, Day]], start: date, end: date, *, by: int) -> Iterator[dict[str, Any]]:
    """One row per period (``by`` 10: day, 7: month) of ``[start, end)`` and currency, with its check."""
    first, last = start.isoformat(), end.isoformat()
    currencies = sorted({c for day, per in days.items() if day < last for c in per})  # those known by the end
    opening = {c: [0, 0] for c in currencies}  # stock before the period: [minor, credits]
    periods: dict[str, dict[str, list[Day]]] = {}
    for day in sorted(days):
        if day >= last:
            break
        for currency, figures in days[day].items():
            if day < first:
                opening[currency][0] += figures.stock_minor
                opening[currency][1] += figures.stock_credits
            else:
                periods.setdefault(day[:by], {}).setdefault(currency, []).append(figures)
    cursor = start
    keys: list[str] = []
    while cursor < end:
        if not keys or keys[-1] != cursor.isoformat()[:by]:
            keys.append(cursor.isoformat()[:by])
        cursor += timedelta(days=1)
    for key in keys:
        for currency in currencies:
            found = periods.get(key, {}).get(currency, [])
            money = {name: sum(d.money.get(name, 0) for d in found) for name in MONEY}
            moved = {name: sum(d.credits.get(name, 0) for d in found) for name in CREDITS}
            open_minor, open_credits = opening[currency]
            close_minor = open_minor + sum(d.stock_minor for d in found)
            close_credits = open_credits + sum(d.stock_credits for d in found)
            difference = (open_minor + money["sales"] - money["recognised"] - money["breakage"] - money["refunds"]
                          - money["clawed_back"] - close_minor)
            credits_difference = (open_credits + moved["granted"] - moved["consumed"] - moved["expired"]
                                  - moved["clawed_back"] - close_credits)
            opening[currency] = [close_minor, close_credits]
            yield {"period": key, "currency": currency, "opening_deferred": open_minor, **money,
                   "closing_deferred": close_minor, "difference": difference, "opening_credits": open_credits,
                   **{f"credits_{name}": n for name, n in moved.items()}, "closing_credits": close_credits,
                   "credits_difference": credits_difference,
                   "ties_out": difference == 0 and credits_difference == 0}


@dataclass(frozen=True)
class RevenueReport:
    """The days and months of a range, as of a ledger position, each row with its identity checked."""

    start: date
    end: date
    position: int
    days: list[dict[str, Any]]
    months: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """Whether every row ties out."""
        return all(r["ties_out"] for r in (*self.days, *self.months))

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable report."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "as_of_position": self.position,
                "ok": self.ok, "unit": "minor units of each currency; credits are whole credits",
                "days": self.days, "months": self.months}


def parse_day(text: str) -> date:
    """A calendar day written ``YYYY-MM-DD`` (ASCII digits only); ``ValueError`` naming it otherwise."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not a day written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a day of the calendar") from None


def check_range(start: date, end: date) -> None:
    """Refuse a range that is empty, backwards or longer than ``MAX_DAYS``."""
    if end <= start:
        raise ValueError(f"the range must end after it starts: {start.isoformat()} to {end.isoformat()}")
    if (end - start).days > MAX_DAYS:
        raise ValueError(f"the range spans {(end - start).days} days; at most {MAX_DAYS} at once")
