"""`studio-ledger audit margins`: the hand-computed month as a table, CSV and JSON; every bad option or setting is
one line naming it, never a traceback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from ledger import Ledger
from service.reconciliation import spreadsheet_safe
from service.settings.store import StoreSettings
from tests.support.margins_month import RATES, margins_month

pytestmark = pytest.mark.e2e
MANY = " ".join(f"A{chr(65 + i // 26)}{chr(65 + i % 26)}=1" for i in range(300))  # 300 distinct codes


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("margins")
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=folder).event_store_env())
    margins_month(ledger)
    ledger.close()
    return {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(folder), "STUDIO_GROUP_COMMIT": "false",
            "STUDIO_FINANCE_USD_RATES": RATES, "STUDIO_FINANCE_CURRENCY": "INR"}


def run(env: dict[str, str], *args: str, raw: bool = False) -> tuple[int, str]:
    done = CliRunner().invoke(cli, ["audit", "margins", *args], env=env)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.output if raw else " ".join(done.output.replace("│", " ").split())  # box joined


def test_the_month_as_json_carries_the_hand_computed_total(store: dict[str, str]) -> None:
    code, out = run(store, "--from", "2026-03-01", "--to", "2026-04-01", "--format", "json", raw=True)
    assert code == 0, out
    report = json.loads(out)
    assert (report["currency"], report["usd_rates"], report["unknown_cost"]) == ("INR", {"INR": "84"}, 1)
    total = report["total"]
    assert (total["revenue_minor"], total["cost_minor"], total["margin_minor"], total["margin_percent"]) == (
        28316, 1276, 27040, "95.5")
    assert [t["template_id"] for t in report["templates"]] == ["avatar", "poster"]


def test_the_month_as_csv_and_as_a_table(store: dict[str, str]) -> None:
    code, out = run(store, "--from", "2026-03-01", "--to", "2026-04-01", "--format", "csv", raw=True)
    assert code == 0, out
    lines = list(csv.DictReader(io.StringIO(out)))
    assert len(lines) == 4 + 2 + 1  # the day rows, the templates, the total
    assert lines[-1]["margin_minor"] == "27040" and lines[-1]["day"] == ""
    code, out = run(store, "--from", "2026-03-01", "--to", "2026-04-01")
    assert code == 0, out
    assert "1 USD = 84 INR" in out and "1 generation has no recorded provider cost" in out


@pytest.mark.parametrize(("args", "named"), [
    (["--from", "2026-3-1", "--to", "2026-04-01"], "--from"),
    (["--from", "2026-03-01", "--to", "２０２６-04-01"], "--to"),
    (["--from", "2026-04-01", "--to", "2026-03-01"], "--from/--to"),
    (["--from", "2020-01-01", "--to", "2026-04-01"], "at most 366"),
    (["--from", "2026-03-01", "--to", "2026-04-01", "--format", "xlsx"], "--format"),
    (["--from", "2026-03-01", "--to", "2026-04-01", "--as-of-position", "999999"], "outside the ledger"),
    (["--from", "2026-03-01", "--to", "2026-04-01", "--as-of-position", "-1"], "--as-of-position"),
    (["--to", "2026-04-01"], "--from"),
])
def test_bad_options_are_one_line_naming_them(store: dict[str, str], args: list[str], named: str) -> None:
    code, out = run(store, *args)
    assert code == 2 and named in out and "Traceback" not in out


@pytest.mark.parametrize(("env", "named"), [
    ({"STUDIO_FINANCE_USD_RATES": "INR:84"}, "CODE=rate"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=-84"}, "plain positive number"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=0"}, "more than 0"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=84 INR=85"}, "INR has two rates"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=8.4e1"}, "plain positive number"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=NaN"}, "plain positive number"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=84.0000001"}, "six decimals"),
    ({"STUDIO_FINANCE_USD_RATES": "INR=٨٤"}, "plain positive number"),
    ({"STUDIO_FINANCE_USD_RATES": "USD=2"}, "USD=1"),
    ({"STUDIO_FINANCE_USD_RATES": "inr=84"}, "three-letter"),
    ({"STUDIO_FINANCE_USD_RATES": MANY}, "at most 200"),
    ({"STUDIO_FINANCE_USD_RATES": "EUR=0.92"}, "no rate for the reporting currency INR"),
    ({"STUDIO_FINANCE_CURRENCY": "rupees"}, "STUDIO_FINANCE_CURRENCY"),
    ({"STUDIO_FINANCE_CURRENCY": "EUR", "STUDIO_FINANCE_USD_RATES": "EUR=0.92"}, "no exchange rate for INR"),
])
def test_bad_settings_are_one_line_naming_them(store: dict[str, str], env: dict[str, str], named: str) -> None:
    code, out = run({**store, **env}, "--from", "2026-03-01", "--to", "2026-04-01")
    assert code == 2 and named in out and "Traceback" not in out, out


def test_a_text_cell_a_spreadsheet_would_run_is_quoted() -> None:
    row = {"provider": "=HYPERLINK(\"x\")", "template_id": "poster", "margin_minor": -5}
    assert {k: spreadsheet_safe(v) for k, v in row.items()} == {
        "provider": "'=HYPERLINK(\"x\")", "template_id": "poster", "margin_minor": -5}


def test_an_empty_store_is_refused_by_name(tmp_path: Path) -> None:
    code, out = run({"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path), "STUDIO_FINANCE_USD_RATES": RATES},
                    "--from", "2026-03-01", "--to", "2026-04-01")
    assert code == 2 and "no event store" in out
