"""The revenue chart's arithmetic: a round top for its scale, amounts in major units, and no day left out."""

from __future__ import annotations

from typing import Any

import pytest

from api.http.web.revenue_chart import _ceiling, _major, revenue_svg

pytestmark = pytest.mark.unit


def day(period: str, recognised: int, breakage: int, closing: int, currency: str = "INR") -> dict[str, Any]:
    return {"period": period, "currency": currency, "recognised": recognised, "breakage": breakage,
            "closing_deferred": closing}


def test_the_scale_tops_at_one_two_or_five_times_a_power_of_ten() -> None:
    assert [_ceiling(v) for v in (1, 3, 7, 11, 180, 501, 99_999)] == [1, 5, 10, 20, 200, 1000, 100_000]


def test_amounts_are_written_in_major_units_with_the_currencys_decimals() -> None:
    assert [_major(123_456, "INR"), _major(500, "INR"), _major(1500, "JPY"), _major(1_234, "KWD")] == [
        "1,234.56", "5", "1,500", "1.234"]


def test_each_day_has_its_bars_and_a_point_of_the_line_and_other_currencies_are_left_out() -> None:
    svg = revenue_svg([day("2026-01-01", 100, 0, 900), day("2026-01-02", 50, 25, 800),
                       day("2026-01-01", 7, 7, 7, "USD")], "INR")
    assert svg.count('class="bar-recognised"') == 2 and svg.count('class="bar-breakage"') == 1
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 2 and 'data-currency="INR"' in svg


def test_a_currency_without_rows_draws_an_empty_chart() -> None:
    svg = revenue_svg([], "USD")
    assert svg.startswith("<svg") and "bar-recognised" not in svg and "polyline" not in svg


def test_the_scale_writes_every_label_with_decimals_once_one_needs_them() -> None:
    svg = revenue_svg([day("2026-01-01", 0, 0, 1000)], "INR")  # a top of 10.00: 2.50 and 7.50 on the way
    assert all(label in svg for label in (">0.00<", ">2.50<", ">5.00<", ">7.50<", ">10.00<"))
