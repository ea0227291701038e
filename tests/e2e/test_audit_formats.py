"""`audit summary` always has the same columns; `audit journal` also prints a table."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ledger import Ledger, Money
from projections.audit.reports import SUMMARY_COLUMNS
from service.settings.store import StoreSettings
from tests.conftest import T0
from tests.support.audit import run

pytestmark = pytest.mark.e2e


def test_the_summary_has_the_same_columns_whatever_happened(store: dict[str, str], tmp_path: Path) -> None:
    code, busy = run(store, "summary", "--format", "csv")
    assert code == 0, busy
    quiet_dir = tmp_path / "quiet"
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=quiet_dir).event_store_env())
    ledger.purchase(user_id="ann", payment_id="p-1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    ledger.close()
    code, quiet = run({**store, "STUDIO_DATA_DIR": str(quiet_dir)}, "summary", "--by", "day", "--format", "csv")
    assert code == 0, quiet
    headers = [next(csv.reader(io.StringIO(out))) for out in (busy, quiet)]
    assert headers[0] == headers[1] == list(SUMMARY_COLUMNS)
    (row,) = csv.DictReader(io.StringIO(quiet))
    assert (row["paid_issued"], row["bonus_issued"], row["revenue"], row["cash_received"]) == ("100", "0", "0",
                                                                                               "INR:900")
    code, as_json = run({**store, "STUDIO_DATA_DIR": str(quiet_dir)}, "summary", "--format", "json")
    assert list(json.loads(as_json)["periods"][0]) == list(SUMMARY_COLUMNS)


def test_the_journal_prints_as_a_table_with_the_csv_columns(store: dict[str, str]) -> None:
    code, as_csv = run(store, "journal", "--format", "csv")
    assert code == 0, as_csv
    code, table = run(store, "journal", "--format", "table")
    assert code == 0, table
    header, *lines = table.splitlines()
    assert header.split() == next(csv.reader(io.StringIO(as_csv)))
    postings = list(csv.DictReader(io.StringIO(as_csv)))
    assert len(lines) == len(postings)
    first = lines[0].split()
    assert first[:2] == [postings[0]["position"], postings[0]["at"]] and postings[0]["account"] in first
