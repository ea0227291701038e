"""`studio-ledger store init`: every table the processes use exists afterwards, and a second run changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from projections import all_projections

pytestmark = pytest.mark.e2e


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_store_init_creates_the_event_store_positions_read_tables_and_idempotency_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_STORE", "sqlite")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))

    first = CliRunner().invoke(app, ["store", "init"])

    assert first.exit_code == 0, first.output
    assert f"{len(all_projections())} projections at position 0; the log's head is 0" in first.output
    assert {"stored_events", "studio_tracking"} <= tables(tmp_path / "events.db")
    assert {"wallet_balances", "wallet_statement", "generations", "journal", "projection_tracking",
            "idempotency_keys", "idempotency_answers", "templates", "template_versions", "reports", "standings",
            "learner_keys"} <= tables(tmp_path / "read.db")
    again = CliRunner().invoke(app, ["store", "init"])
    assert again.exit_code == 0 and again.output == first.output
