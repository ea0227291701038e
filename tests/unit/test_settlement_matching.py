"""The matching rules on their own: by id first, without one by amount, currency and the closest time inside the
window and tolerance, each payment settled by one line; refunds against the ledger's refund; the period's
unsettled purchases, overdue or not; and a large report matched in time proportional to its size."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from service.settlement_files import SettlementLine
from service.settlement_matching import Paid, Rules, match

pytestmark = pytest.mark.unit
RULES = Rules(window=timedelta(days=3), tolerance=timedelta(hours=24))
T = datetime(2026, 3, 10, 6, tzinfo=UTC)


def line(n: int, payment_id: str, minor: int, at: datetime, kind: str = "payment") -> SettlementLine:
    return SettlementLine(n, payment_id, kind, minor, "INR", at, 0, 0)  # type: ignore[arg-type]


def paid(payment_id: str, minor: int, at: datetime, **kw: object) -> Paid:
    return Paid(payment_id, "purchase", "u", minor, "INR", at, **kw)  # type: ignore[arg-type]


def outcomes(lines: list[SettlementLine], known: list[Paid]) -> list[tuple[str, str]]:
    return [(found["outcome"], found["payment_id"]) for found in match(lines, known, RULES).lines]


def test_a_line_without_an_id_takes_the_closest_unsettled_payment_of_its_amount() -> None:
    known = [paid("far", 500, T - timedelta(days=3)), paid("near", 500, T - timedelta(hours=12)),
             paid("other", 700, T - timedelta(days=1)), paid("late", 500, T + timedelta(hours=20))]
    found = outcomes([line(2, "", 500, T), line(3, "", 500, T + timedelta(seconds=1)), line(4, "", 500, T)], known)
    # the second line is another instant: not a duplicate; the third repeats the first
    assert found[:3] == [("matched", "near"), ("matched", "late"), ("duplicate", "")]


def test_outside_the_window_and_tolerance_a_line_without_an_id_finds_nothing() -> None:
    known = [paid("old", 500, T - RULES.window - RULES.tolerance - timedelta(seconds=1)),
             paid("future", 500, T + RULES.tolerance + timedelta(seconds=1))]
    assert outcomes([line(2, "", 500, T)], known)[0] == ("paid_no_credits", "")


def test_a_refund_is_matched_against_what_the_ledger_paid_back() -> None:
    refunded = T - timedelta(days=1)
    known = [paid("a", 900, T - timedelta(days=2), refund_minor=900, refunded_at=refunded),
             paid("b", 900, T - timedelta(days=2), refund_minor=450, refunded_at=refunded),
             paid("c", 900, T - timedelta(days=2))]
    found = outcomes([line(2, "a", 900, T, "refund"), line(3, "b", 900, T, "refund"), line(4, "c", 900, T, "refund"),
                      line(5, "zz", 900, T, "refund"), line(6, "", 900, T + timedelta(hours=1), "refund")], known)
    assert found[:5] == [("matched", "a"), ("refund_mismatch", "b"), ("refund_mismatch", "c"),
                         ("refund_mismatch", "zz"), ("refund_mismatch", "")]  # "a" was taken by line 2


def test_the_periods_unsettled_purchases_are_found_and_overdue_past_the_window() -> None:
    known = [paid("settled", 100, T - timedelta(days=2)), paid("overdue", 100, T - timedelta(days=4)),
             paid("recent", 100, T - timedelta(hours=1)), paid("before", 100, T - timedelta(days=4, seconds=1)),
             Paid("wallet", "redemption", "u", 100, "INR", T - timedelta(days=4))]
    found = match([line(2, "settled", 100, T - timedelta(days=1)), line(3, "settled-2", 5, T)], known, RULES)
    unsettled = {f["payment_id"]: f["overdue"] for f in found.lines if f["outcome"] == "credits_not_settled"}
    # the period: T - 1 day to T; purchases from 3 days before its start count; a redemption never does
    assert unsettled == {"overdue": True, "recent": False}


def test_twenty_thousand_lines_without_ids_match_in_time_proportional_to_their_number() -> None:
    def run(n: int) -> float:
        known = [paid(f"p{i}", 100 + i % 50, T - timedelta(minutes=i)) for i in range(n)]
        lines = [line(i + 2, "", 100 + i % 50, T + timedelta(hours=1) - timedelta(minutes=i)) for i in range(n)]
        started = time.process_time()
        counts = match(lines, known, RULES)
        spent = time.process_time() - started
        assert sum(1 for f in counts.lines if f["outcome"] == "matched") == n
        return spent

    small, large = min(run(2_000) for _ in range(3)), run(20_000)
    assert large < 30 * small + 0.5, (small, large)  # 10 times the lines: not 100 times the time
