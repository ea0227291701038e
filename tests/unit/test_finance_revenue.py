"""Revenue, liability and breakage: a month of mixed activity ties out per day and per month, to the minor
unit, against the lots as the ledger itself holds them and the journal's own totals."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from ledger import Ledger, Money
from ledger.postings import Posting
from ledger.values import wallet_id
from ledger.wallet import Wallet
from projections.audit import fold
from projections.audit.replay import replay
from projections.audit.reports import Summary
from projections.audit.stored import Row, rows
from projections.audit.verify import run_verify
from projections.finance.reading import revenue_book, revenue_report
from projections.finance.recognition import FREE, recognise, released
from projections.finance.revenue import RevenueBook, check_range, revenue_findings
from tests.support.finance_month import USERS, busy_month
from tests.support.ledgers import T0, busy_ledger

pytestmark = pytest.mark.unit
JANUARY = (date(2026, 1, 1), date(2026, 2, 1))


@pytest.fixture(scope="module")
def month() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    applied = busy_month(ledger)
    assert min(applied.values()) >= 3 and len(applied) == 9, applied  # every kind of command happened
    yield ledger
    ledger.close()


def owed_by_the_ledger(app: Ledger) -> dict[str, list[int]]:
    """Per currency, [deferred revenue, credits] outstanding as the wallet aggregates hold them."""
    out: dict[str, list[int]] = {}
    for user in USERS:
        wallet = app.wallet(user)
        assert wallet is not None
        for grant in wallet.grants.values():
            held = sum(h.portions.get(grant.grant_id, 0) for h in wallet.holds.values() if h.status == "pending")
            left = grant.remaining + held
            currency = grant.price.currency if grant.price else FREE
            price = grant.price.minor if grant.price else 0
            minor = price - released(price, grant.amount, grant.amount - left)
            figures = out.setdefault(currency, [0, 0])
            figures[0] += minor
            figures[1] += left
    return out


def test_every_day_and_the_month_tie_out_to_the_minor_unit(month: Ledger) -> None:
    report = revenue_report(month, *JANUARY)
    assert report.ok
    assert len(report.days) == 31 * 3 and {r["currency"] for r in report.days} == {"INR", "USD", FREE}
    assert [r["difference"] for r in report.days] == [0] * len(report.days)
    for currency in ("INR", "USD"):
        (row,) = [r for r in report.months if r["currency"] == currency]
        assert row["opening_deferred"] == 0 and row["ties_out"]
        for figure in ("sales", "recognised", "refunds", "clawed_back"):
            assert row[figure] > 0, (currency, figure)  # every flow of the identity is exercised
        assert row["breakage"] == 0  # paid credits are granted without an expiry: only bonuses lapse
        days = [r for r in report.days if r["currency"] == currency]
        assert sum(r["sales"] for r in days) == row["sales"]
        assert all(a["closing_deferred"] == b["opening_deferred"] for a, b in itertools.pairwise(days))
        assert days[-1]["closing_deferred"] == row["closing_deferred"]
    (free,) = [r for r in report.months if r["currency"] == FREE]
    assert free["credits_granted"] > 0 and free["credits_expired"] > 0 and free["credits_consumed"] > 0
    assert all(free[f] == 0 for f in ("opening_deferred", "sales", "recognised", "breakage", "closing_deferred"))


def test_the_closing_position_is_what_the_wallets_themselves_owe(month: Ledger) -> None:
    report = revenue_report(month, *JANUARY)
    owed = owed_by_the_ledger(month)
    assert {r["currency"]: [r["closing_deferred"], r["closing_credits"]] for r in report.months} == owed


def test_the_month_agrees_with_the_journal_and_the_recognised_captures(month: Ledger) -> None:
    report = revenue_report(month, *JANUARY)
    summary = Summary("month")
    replay(month, on_entry=summary)
    (journal,) = summary.rows()
    captures: dict[str, int] = {}
    for r in recognise(row for page in rows(month) for row in page):
        captures[r.currency] = captures.get(r.currency, 0) + r.minor
    for row in report.months:
        currency = row["currency"]
        if currency == FREE:
            continue
        assert row["sales"] == journal["cash_received"][currency]
        assert row["recognised"] == journal["revenue"][currency] == captures[currency]
        assert row["breakage"] == journal["breakage_income"].get(currency, 0)
        assert row["refunds"] == journal["refunds_paid"][currency]
        assert row["clawed_back"] == journal["clawback_income"][currency]
        assert row["closing_deferred"] == journal["deferred_revenue"][currency]


def test_a_part_of_the_month_opens_with_what_the_days_before_left(month: Ledger) -> None:
    whole = revenue_report(month, *JANUARY)
    late = revenue_report(month, date(2026, 1, 20), date(2026, 1, 23))
    assert late.ok and len(late.days) == 3 * 3
    before = {r["currency"]: r["closing_deferred"] for r in whole.days if r["period"] == "2026-01-19"}
    assert {r["currency"]: r["opening_deferred"] for r in late.days if r["period"] == "2026-01-20"} == before
    assert [r["period"] for r in late.months] == ["2026-01"] * 3


def test_the_report_as_of_a_position_counts_only_the_events_up_to_it() -> None:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    first = app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=3, price=Money(1000, "INR"), at=T0)
    app.purchase(user_id="ann", payment_id="p2", pack_id="starter", amount=3, price=Money(500, "INR"), at=T0)
    day = (T0.date(), T0.date() + timedelta(days=1))
    assert revenue_report(app, *day, position=first.position).days[0]["sales"] == 1000
    assert revenue_report(app, *day).days[0]["sales"] == 1500
    assert revenue_report(app, *day, position=0).days == []
    with pytest.raises(ValueError, match="outside the ledger"):
        revenue_report(app, *day, position=first.position + 99)
    app.close()


def test_a_flow_the_report_missed_shows_as_a_difference_on_its_day_and_as_an_audit_finding() -> None:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    busy_ledger(app)
    book = RevenueBook()

    def losing_revenue(row: Any, wallet: Any, fields: dict[str, Any], lines: list[Any]) -> None:
        if row.kind == "HoldCaptured":  # as if the journal forgot the revenue a capture recognised
            lines = [p for p in lines if p.account != "money:revenue"]
        book(row, wallet, fields, lines)

    folded = replay(app, on_entry=losing_revenue)
    report = book.report(T0.date(), T0.date() + timedelta(days=7))
    assert not report.ok
    (wrong,) = [r for r in report.days if not r["ties_out"]]
    assert (wrong["period"], wrong["currency"]) == ("2026-01-01", "INR") and wrong["difference"] > 0
    revenue_findings(folded, book)
    assert [f.event for f in folded.findings] == ["revenue identity"]
    assert "2026-01-01 INR" in folded.findings[0].problem
    assert revenue_book(app, position=app.recorder.max_notification_id() or 0).findings() == []
    app.close()


def test_a_paid_lot_given_a_term_breaks_its_unspent_price_when_it_lapses() -> None:
    # No command grants paid credits with an expiry today; the report must still count one that lapses.
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    wallet = Wallet.open(wallet_id("zed"), "zed", T0)
    wallet.grant(Wallet.CreditsPurchased, grant_id="lot", amount=3, at=T0, reference="p9", pack_id="trial",
                 expires_at=T0 + timedelta(days=1), price=Money(100, "INR"))
    wallet.place_hold(hold_id="h", amount=2, at=T0, ttl=timedelta(days=2))
    wallet.capture(hold_id="h", amount=1, at=T0 + timedelta(hours=1))  # one consumed, one back to the lot
    wallet.expire_credits(T0 + timedelta(days=1, hours=1))
    app.save(wallet)
    (first, second) = revenue_report(app, T0.date(), T0.date() + timedelta(days=2)).days
    assert (first["sales"], first["recognised"], first["closing_deferred"], first["closing_credits"]) == (
        100, 33, 67, 2)
    assert (second["breakage"], second["credits_expired"], second["closing_deferred"], second["ties_out"]) == (
        67, 2, 0, True)
    app.close()


@pytest.mark.parametrize(("start", "end", "problem"), [
    (date(2026, 1, 2), date(2026, 1, 1), "must end after"), (date(2026, 1, 1), date(2026, 1, 1), "must end after"),
    (date(2026, 1, 1), date(2027, 1, 3), "at most 366")])
def test_a_range_backwards_empty_or_too_long_is_refused(start: date, end: date, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_range(start, end)


def test_audit_verify_reports_a_day_that_does_not_tie_out(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    busy_ledger(app)
    assert run_verify(app).ok
    real = fold.postings_for

    def kept_deferred(kind: str, fields: Any, book: Any) -> list[Posting]:
        # a journal that keeps a capture's revenue in deferred revenue: every entry still balances
        return [p._replace(account="money:deferred_revenue") if p.account == "money:revenue" else p
                for p in real(kind, fields, book)]

    monkeypatch.setattr(fold, "postings_for", kept_deferred)
    report = run_verify(app)
    assert [f.event for f in report.findings] == ["revenue identity"]  # the journal alone balances
    app.close()


def test_a_range_before_a_currency_was_first_sold_has_no_row_for_it() -> None:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=3, price=Money(1000, "INR"), at=T0)
    app.purchase(user_id="ann", payment_id="p2", pack_id="starter", amount=3, price=Money(500, "USD"),
                 at=T0 + timedelta(days=3))
    assert {r["currency"] for r in revenue_report(app, T0.date(), T0.date() + timedelta(days=2)).days} == {"INR"}
    assert revenue_report(app, T0.date() - timedelta(days=9), T0.date()).days == []
    app.close()


@pytest.mark.parametrize(("stamp", "day"), [
    ("2026-01-01T23:30:00+00:00", "2026-01-01"),  # as the ledger stores its instants: the day is read off the text
    ("2026-01-01T23:30:00-01:00", "2026-01-02"),  # any other offset is converted to UTC first
    ("2026-01-02T00:30:00+05:30", "2026-01-01"),
    ("2026-01-01T23:30:00Z", "2026-01-01"),
])
def test_an_event_counts_on_its_utc_day_whatever_offset_its_instant_was_written_with(stamp: str, day: str) -> None:
    book = RevenueBook()
    row = Row(7, "w", 2, "ledger.wallet:Wallet.CreditsPurchased", b"")
    fields = {"timestamp": stamp, "grant_id": "g", "credits": 5, "price": {"minor": 500, "currency": "INR"}}
    book(row, None, fields, [Posting("money:cash:purchase", 0, 500, "INR", "g")])  # type: ignore[arg-type]
    assert list(book.days) == [day]
    figures = book.days[day]["INR"]
    assert (figures.stock_minor, figures.stock_credits, figures.money, figures.position) == (500, 5, {"sales": 500}, 7)


def test_a_finding_on_one_day_of_a_long_log_names_that_day_only() -> None:
    book = RevenueBook()
    for n, stamp in enumerate(("2026-01-01T10:00:00+00:00", "2026-03-15T10:00:00+00:00", "2026-06-30T10:00:00+00:00")):
        row = Row(n + 1, "w", n + 2, "ledger.wallet:Wallet.CreditsPurchased", b"")
        fields = {"timestamp": stamp, "grant_id": f"g{n}", "credits": 5, "price": {"minor": 500, "currency": "INR"}}
        cash = 500 if n != 1 else 400  # the March sale's cash is short of its lot's price
        lines = [Posting("money:cash:purchase", 0, cash, "INR", f"g{n}"),
                 Posting("credits:issued:purchase", 5, 0, "", f"g{n}")]
        book(row, None, fields, lines)  # type: ignore[arg-type]
    (found,) = book.findings()
    assert found.position == 2 and found.problem.startswith("2026-03-15 INR")
