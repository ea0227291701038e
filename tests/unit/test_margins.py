"""Margins per template, provider and day match the figures worked out by hand for a small month
(tests/support/margins_month.py), in INR at 1 USD = INR 84: cost in paise is micro-dollars x 0.0084."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger import Ledger
from projections.audit.stored import head, rows
from projections.finance.margins import MarginBook, MissingRate, Rates, margins_report
from service.settings.finance import parse_rates
from tests.support.margins_month import RATES, margins_month

pytestmark = pytest.mark.unit
INR = Rates("INR", parse_rates(RATES))
MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)
FIGURES = ("generations", "completed", "failed", "charged_calls", "credits_consumed", "revenue_minor",
           "cost_micro_usd", "cost_minor", "margin_minor", "margin_percent", "unknown_cost")


@pytest.fixture(scope="module")
def month() -> Ledger:
    return margins_month(Ledger())


def figures(row: dict[str, object]) -> tuple[object, ...]:
    return tuple(row[name] for name in FIGURES)


def test_each_day_template_and_provider_matches_the_hand_computed_figures(month: Ledger) -> None:
    report = margins_report(month, MARCH, APRIL, INR)
    by_key = {(r["day"], r["template_id"], r["provider"]): figures(r) for r in report.days}
    assert by_key == {
        # g2: 10 credits at 1000 paise = 10000 paise; two calls of 40000 micro-dollars = 80000 x 0.0084 = 672
        # paise; margin 9328, 93.28 % -> 93.3.
        ("2026-03-02", "avatar", "replicate"): (1, 1, 0, 2, 10, 10000, 80000, 672, 9328, "93.3", 0),
        # g1 earned 5000 paise; g3 failed (its hold released: no revenue, no credits) but its call cost:
        # 6000 micro-dollars = 50.4 -> 50 paise.
        ("2026-03-02", "poster", "replicate"): (2, 1, 1, 2, 5, 5000, 6000, 50, 4950, "99.0", 0),
        # g4: Bob's 5 credits released 999 x 5 // 50 = 99 cents = USD 0.99 = INR 83.16 = 8316 paise;
        # 63000 micro-dollars = 529.2 -> 529 paise.
        ("2026-03-03", "poster", "openai"): (1, 1, 0, 1, 5, 8316, 63000, 529, 7787, "93.6", 0),
        # g5 on Cat's promo credits earned nothing and cost 3000 micro-dollars (25.2 -> 25 paise); g6 earned
        # 5000 paise at an unknown cost: counted as unknown, not as free.
        ("2026-03-03", "poster", "replicate"): (2, 2, 0, 1, 10, 5000, 3000, 25, 4975, "99.5", 1),
    }


def test_the_templates_and_the_total_add_up_the_rounded_rows(month: Ledger) -> None:
    report = margins_report(month, MARCH, APRIL, INR)
    assert {r["template_id"]: figures(r) for r in report.templates} == {
        "avatar": (1, 1, 0, 2, 10, 10000, 80000, 672, 9328, "93.3", 0),
        "poster": (5, 4, 1, 4, 20, 18316, 72000, 604, 17712, "96.7", 1),
    }
    assert figures(report.total) == (6, 5, 1, 6, 30, 28316, 152000, 1276, 27040, "95.5", 1)
    assert report.as_dict()["unknown_cost"] == 1


def test_a_range_counts_the_generations_that_ended_in_it(month: Ledger) -> None:
    april = margins_report(month, APRIL, MAY, INR)
    assert [(r["day"], r["template_id"], r["revenue_minor"], r["cost_minor"]) for r in april.days] == [
        ("2026-04-01", "poster", 5000, 25)]
    one_day = margins_report(month, date(2026, 3, 3), date(2026, 3, 4), INR)
    assert one_day.total["generations"] == 3  # g4, g5, g6; the unfinished g8 is in no day


def test_the_report_in_dollars_converts_rupees_at_the_same_rate(month: Ledger) -> None:
    usd = margins_report(month, MARCH, APRIL, Rates("USD", parse_rates(RATES)))
    # Ann's 10000 paise = INR 100 = USD 1.190476... = 119 cents; 80000 micro-dollars = 8 cents.
    [avatar] = [r for r in usd.days if r["template_id"] == "avatar"]
    assert (avatar["revenue_minor"], avatar["cost_minor"], avatar["margin_minor"]) == (119, 8, 111)
    [openai] = [r for r in usd.days if r["provider"] == "openai"]
    assert openai["revenue_minor"] == 99  # dollars stay exact


def test_money_in_a_currency_without_a_rate_is_refused_by_name(month: Ledger) -> None:
    with pytest.raises(MissingRate, match="no exchange rate for INR"):
        margins_report(month, MARCH, APRIL, Rates("USD", {}))
    assert Rates("JPY", {"JPY": Decimal("150")}).from_micro_usd(1_000_000) == 150  # no minor digits in yen


def test_the_report_as_of_a_position_counts_only_the_events_up_to_it(month: Ledger) -> None:
    whole = margins_report(month, MARCH, APRIL, INR)
    assert whole.position == head(month)
    events = [r for page in rows(month) for r in page]
    first_end = next(r.position for r in events if r.kind == "GenerationCompleted")
    early = margins_report(month, MARCH, APRIL, INR, position=first_end)
    # g1 completed, its capture not yet folded: cost counted, revenue and credits not yet
    assert figures(early.total)[:8] == (1, 1, 0, 1, 0, 0, 3000, 25)
    for bad in (-1, head(month) + 1):
        with pytest.raises(ValueError, match="outside the ledger"):
            margins_report(month, MARCH, APRIL, INR, position=bad)


@pytest.mark.parametrize(("start", "end"), [(APRIL, MARCH), (MARCH, MARCH), (date(2025, 1, 1), date(2026, 6, 1))])
def test_a_range_backwards_empty_or_too_long_is_refused(month: Ledger, start: date, end: date) -> None:
    with pytest.raises(ValueError, match="range"):
        margins_report(month, start, end, INR)


def test_a_generation_from_a_hostile_or_foreign_log_does_not_break_the_fold() -> None:
    book = MarginBook()
    book.generation("GenerationCompleted", "never-requested", {"timestamp": "2026-03-02T10:00:00+00:00"})
    book.generation("GenerationShared", "never-requested", {})
    assert book.report(MARCH, APRIL, INR).days == []
