"""`studio-ledger audit reconcile FILE` end to end on a SQLite store: each sample report in every output, the same
file one run, a stale projection and hostile files refused in one line, and the run in `audit journal` and
`audit verify`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from ledger import Ledger
from service.bootstrap import build_projector
from service.settings import Settings
from service.settings.store import StoreSettings
from tests.support.audit import run
from tests.support.settlements import EXPECTED, PREFIX, SAMPLES, a_week_of_payments

pytestmark = pytest.mark.e2e


def make_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str) -> dict[str, str]:
    """A SQLite store with a week of payments under a provider's ids, projected."""
    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path), "STUDIO_GROUP_COMMIT": "false"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=tmp_path).event_store_env())
    a_week_of_payments(ledger, prefix)
    ledger.close()
    project()
    return env


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A SQLite store with a week of payments under Razorpay's (and the generic sample's) ids."""
    yield make_store(tmp_path, monkeypatch, "pay_")


def project() -> None:
    projector = build_projector(Settings())
    projector.catch_up()
    projector.engine.dispose()
    projector.app.close()


@pytest.mark.parametrize("fmt", ["generic", "razorpay", "stripe"])
def test_each_sample_reconciles_to_the_expected_counts_in_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               fmt: str) -> None:
    store = make_store(tmp_path, monkeypatch, PREFIX[fmt])
    code, out = run(store, "reconcile", str(SAMPLES / f"{fmt}.csv"), "--format", fmt, "--output", "json",
                    "--by", "finance@studio")
    assert code == 0, out
    found = json.loads(out)
    assert found["counts"] == EXPECTED
    assert (found["format"], found["by"], found["repeated"], found["overdue"]) == (fmt, "finance@studio", False, 1)
    assert found["skipped"] == (0 if fmt == "generic" else 1)  # a Razorpay adjustment, a Stripe payout
    assert len(found["sha256"]) == 64 and len(found["lines"]) == sum(EXPECTED.values())


def test_the_same_file_again_is_the_same_run_and_csv_and_table_say_so(store: dict[str, str]) -> None:
    sample = str(SAMPLES / "generic.csv")
    code, first = run(store, "reconcile", sample, "--output", "json")
    assert code == 0, first
    project()
    code, out = run(store, "reconcile", sample, "--output", "csv")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["outcome"] for r in rows].count("matched") == EXPECTED["matched"]
    assert {r["payment_id"] for r in rows if r["outcome"] == "paid_no_credits"} == {"pay_X9999"}
    code, out = run(store, "reconcile", sample)
    assert code == 0, out
    assert f"already reconciled as run {json.loads(first)['run_id']}" in out.splitlines()[0]
    assert "counts: matched 5, amount_mismatch 1, paid_no_credits 1" in out


def test_the_run_is_in_the_journal_and_verify_passes(store: dict[str, str]) -> None:
    code, out = run(store, "reconcile", str(SAMPLES / "razorpay.csv"), "--format", "razorpay", "--by", "meena")
    assert code == 0, out
    code, out = run(store, "journal", "--format", "json")
    entries = [e for e in json.loads(out) if e["event"] == "ReconciliationRecorded"]
    assert len(entries) == 1 and "reconciled by meena" in entries[0]["lines"][0]["memo"]
    code, out = run(store, "verify", "--no-projections")
    assert code == 0, out


def test_a_projection_behind_the_ledger_is_refused_rather_than_matched_stale(store: dict[str, str],
                                                                            tmp_path: Path) -> None:
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=tmp_path).event_store_env())
    a_week_of_payments(ledger, "late_")
    ledger.close()
    code, out = run(store, "reconcile", str(SAMPLES / "generic.csv"), "--wait", "0")
    assert code == 1
    assert "the reconciliations projection is at position" in out and "Traceback" not in out


@pytest.mark.parametrize(("content", "args", "expected"), [
    (b"payment_id,amount_minor,currency,settled_at,fee_minor,tax_minor,kind\npay_1,12x,INR,2026-03-01T00:00:00Z,0,0,"
     b"payment\n", (), "error: bad.csv: line 2, column amount_minor: '12x' is not a whole"),
    (b"id,amount\n", ("--format", "razorpay"), "error: bad.csv: line 1: missing columns entity_id, type"),
    (b"\xff\xfe\x00\x00", (), "error: bad.csv: line 1: the file is UTF-16 text"),
    (b"x\n", ("--format", "paypal"), "error: unknown format 'paypal'"),
    (b"x\n", ("--output", "xml"), "error: unknown output 'xml'"),
])
def test_a_hostile_file_or_option_is_one_line_and_exit_2(store: dict[str, str], tmp_path: Path, content: bytes,
                                                        args: tuple[str, ...], expected: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code, out = run(store, "reconcile", str(bad), *args)
    assert code == 2
    assert out.strip().startswith(expected) and len(out.strip().splitlines()) == 1


def test_a_missing_file_is_one_line(store: dict[str, str], tmp_path: Path) -> None:
    code, out = run(store, "reconcile", str(tmp_path / "nope.csv"))
    assert code == 2 and out.strip().startswith("error: cannot read") and "Traceback" not in out


def test_verify_finds_a_run_whose_counts_were_edited(store: dict[str, str], tmp_path: Path) -> None:
    code, out = run(store, "reconcile", str(SAMPLES / "generic.csv"), "--output", "json")
    assert code == 0, out
    run_id = json.loads(out)["run_id"]
    with sqlite3.connect(tmp_path / "events.db") as db:
        table = next(name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                     if name.endswith("events") and "snapshot" not in name)
        changed = db.execute(f"UPDATE {table} SET state = replace(state, '\"matched\":5', '\"matched\":6') "
                             "WHERE originator_id = ?", (UUID(run_id).hex,)).rowcount
    assert changed == 1
    code, out = run(store, "verify", "--no-projections", "--json")
    assert code == 1
    problems = [f["problem"] for f in json.loads(out)["findings"]]
    assert problems == [f"reconciliation {run_id}: counts {{'matched': 6, 'amount_mismatch': 1, 'paid_no_credits': 1, "
                        "'credits_not_settled': 2, 'duplicate': 1, 'refund_mismatch': 1} are not the tally of its "
                        "lines {'matched': 5, 'amount_mismatch': 1, 'paid_no_credits': 1, 'credits_not_settled': 2, "
                        "'duplicate': 1, 'refund_mismatch': 1}"]
