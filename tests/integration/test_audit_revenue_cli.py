"""`studio-ledger audit revenue` over a SQLite store: the report in every format, as of a position, and every
bad option refused in one line."""

from __future__ import annotations

import csv
import io
import json

import pytest

from projections.finance.revenue import COLUMNS
from tests.support.audit import busy_store, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return busy_store(tmp_path_factory.mktemp("revenue"))


def test_the_json_report_ties_out_every_day_and_the_month(env: dict[str, str]) -> None:
    code, out = run(env, "revenue", "--from", "2026-01-01", "--to", "2026-02-01", "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] and report["as_of_position"] > 0
    assert len(report["days"]) == 31 * 3 and all(r["ties_out"] for r in report["days"])
    usd = next(r for r in report["months"] if r["currency"] == "USD")
    assert (usd["sales"], usd["opening_deferred"]) == (999, 0)
    assert usd["refunds"] > 0 and usd["difference"] == 0


def test_the_csv_has_one_header_and_a_row_per_day_and_month(env: dict[str, str]) -> None:
    code, out = run(env, "revenue", "--from", "2026-01-01", "--to", "2026-01-03", "--format", "csv")
    assert code == 0, out
    lines = list(csv.DictReader(io.StringIO(out)))
    assert tuple(lines[0]) == COLUMNS
    assert [(r["period"], r["currency"]) for r in lines] == [
        (p, c) for p in ("2026-01-01", "2026-01-02", "2026-01") for c in ("INR", "USD", "free")]


def test_the_table_says_its_position_and_its_verdict(env: dict[str, str]) -> None:
    code, out = run(env, "revenue", "--from", "2026-01-01", "--to", "2026-01-08")
    assert code == 0, out
    assert out.startswith("as of ledger position ") and out.rstrip().endswith("OK: every row ties out")


def test_as_of_the_first_position_only_the_first_purchase_is_counted(env: dict[str, str]) -> None:
    code, out = run(env, "revenue", "--from", "2026-01-01", "--to", "2026-01-02", "--format", "json",
                    "--as-of-position", "3")
    assert code == 0, out
    report = json.loads(out)
    assert report["as_of_position"] == 3
    assert [(r["currency"], r["sales"]) for r in report["days"]] == [("USD", 999)]


@pytest.mark.parametrize(("args", "problem"), [
    (["--from", "2026-1-1", "--to", "2026-02-01"], "is not a day written YYYY-MM-DD"),
    (["--from", " 2026-01-01", "--to", "2026-02-01"], "is not a day written YYYY-MM-DD"),
    (["--from", "２０２６-01-01", "--to", "2026-02-01"], "is not a day written YYYY-MM-DD"),
    (["--from", "2026-W01-1", "--to", "2026-02-01"], "is not a day written YYYY-MM-DD"),
    (["--from", "2026-02-30", "--to", "2026-03-01"], "is not a day of the calendar"),
    (["--from", "2026-02-01", "--to", "2026-01-01"], "must end after it starts"),
    (["--from", "2026-01-01", "--to", "2026-01-01"], "must end after it starts"),
    (["--from", "0001-01-01", "--to", "9999-12-31"], "at most 366"),
    (["--from", "2026-01-01", "--to", "2026-02-01", "--format", "xml"], "unknown format 'xml'"),
    (["--from", "2026-01-01", "--to", "2026-02-01", "--as-of-position", "-1"], "greater than or equal"),
    (["--from", "2026-01-01", "--to", "2026-02-01", "--as-of-position", "99999999"], "is outside the"),
    (["--from", "2026-01-01", "--to", "2026-02-01", "--as-of-position", "1e3"], "valid integer"),
    (["--to", "2026-02-01"], "--from"),
])
def test_a_bad_option_is_refused_in_one_line_without_a_traceback(env: dict[str, str], args: list[str],
                                                                  problem: str) -> None:
    code, out = run(env, "revenue", *args)
    assert code == 2, out
    assert problem in out and "Traceback" not in out


def test_verify_checks_the_revenue_identity_too(env: dict[str, str]) -> None:
    code, out = run(env, "verify", "--json", "--no-projections")
    assert code == 0, out
    assert json.loads(out)["problems"] == 0
