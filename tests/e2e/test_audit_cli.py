"""`studio-ledger audit ...` end to end on a SQLite event store: verdicts, exit codes and formats."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from ledger import wallet_id
from tests.support.audit import run
from tests.support.ledgers import T0

pytestmark = pytest.mark.e2e


def test_verify_passes_a_clean_store_and_says_how_much_it_checked(store: dict[str, str]) -> None:
    code, out = run(store, "verify")
    assert code == 0, out
    assert out.startswith("OK: ")
    code, out = run(store, "verify", "--json")
    report = json.loads(out)
    assert report["ok"] is True
    assert report["wallets"] == 2
    assert report["findings"] == []


def test_verify_fails_on_an_edited_event_and_names_user_position_and_type(store: dict[str, str]) -> None:
    with sqlite3.connect(Path(store["STUDIO_DATA_DIR"]) / "events.db") as db:
        table = store["events_table"]
        rowid, state = db.execute(f"SELECT rowid, state FROM {table} WHERE originator_id = ? "
                                  "AND originator_version = 2", (wallet_id("bob").hex,)).fetchone()
        db.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (state.replace(b'"credits":40', b'"credits":400'),
                                                                      rowid))
    code, out = run(store, "verify", "--json")
    assert code == 1
    finding = json.loads(out)["findings"][0]
    assert finding["user"] == "bob"
    assert "hash chain broken" in finding["problem"]
    assert f"at position {rowid}" in finding["problem"]


def test_balances_as_of_an_instant_in_every_format(store: dict[str, str]) -> None:
    code, out = run(store, "balances", "--as-of", "2026-01-01T01:00:00Z", "--format", "csv")
    assert code == 0, out
    rows = {r["user_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["ann"]["available"] == "130" and rows["ann"]["purchase"] == "100"
    assert rows["bob"]["available"] == "45"
    code, out = run(store, "balances", "--as-of", (T0.isoformat()), "--format", "json")
    assert {w["user_id"]: w["available"] for w in json.loads(out)["wallets"]} == {"ann": 120, "bob": 40}
    code, out = run(store, "balances", "--as-of", "2026-01-01T01:00:00")
    assert code == 2
    assert "no time zone" in out


def test_the_journal_export_balances_entry_by_entry(store: dict[str, str]) -> None:
    code, out = run(store, "journal", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z",
                    "--format", "json")
    assert code == 0, out
    entries = json.loads(out)
    assert entries and all(e["at"] < "2026-01-02" for e in entries)
    for entry in entries:
        assert sum(p["credits"] for p in entry["lines"]) == 0
        assert sum(p["money_minor"] for p in entry["lines"]) == 0  # one currency per entry
    code, out = run(store, "journal", "--from", "2030-01-01T00:00:00Z")
    assert out.splitlines() == ["position,at,event,user_id,account,credits,money_minor,currency,memo"]


def test_the_summary_by_month(store: dict[str, str]) -> None:
    code, out = run(store, "summary", "--by", "month", "--format", "json")
    assert code == 0, out
    (jan,) = json.loads(out)["periods"]
    assert jan["period"] == "2026-01"
    assert jan["cash_received"] == {"INR": 4000, "USD": 999}
    code, out = run(store, "summary", "--by", "fortnight")
    assert code == 2
    assert "unknown period" in out


def test_an_audit_of_a_store_that_is_not_there_is_refused(tmp_path: Path) -> None:
    code, out = run({"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path / "nowhere")}, "verify")
    assert code == 2
    assert "no event store at" in out
    assert not (tmp_path / "nowhere").exists()


def test_several_workers_need_postgresql_and_no_projection_diff(store: dict[str, str]) -> None:
    code, out = run(store, "verify", "--workers", "2")
    assert code == 2 and "--no-projections" in out
    code, out = run(store, "verify", "--workers", "2", "--no-projections")
    assert code == 2 and "PostgreSQL" in out
