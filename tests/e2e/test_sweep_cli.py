"""`studio-ledger sweep` on the embedded SQLite store: due generations fail, the rest stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger import Ledger, Money

pytestmark = pytest.mark.e2e


def test_the_sweep_command_fails_due_generations_and_prints_what_it_did(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.db")}
    ledger = Ledger(env)
    past = datetime.now(UTC) - timedelta(minutes=30)
    ledger.purchase(user_id="ana", payment_id="p1", pack_id="starter", amount=10, price=Money(1000, "INR"), at=past)
    due = UUID(str(ledger.request_generation(
        user_id="ana", request_key="old", template_id="teaser-banner", template_version=1, variables={},
        input_image=None, cost=3, at=past).value))
    fresh = UUID(str(ledger.request_generation(
        user_id="ana", request_key="new", template_id="teaser-banner", template_version=1, variables={},
        input_image=None, cost=3, at=datetime.now(UTC)).value))
    ledger.close()
    monkeypatch.setenv("STUDIO_STORE", "sqlite")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))

    result = CliRunner().invoke(app, ["sweep"])

    assert result.exit_code == 0, result.output
    assert '{"generations_failed": 1, "holds_expired": 0, "images_deleted": 0}' in result.output
    ledger = Ledger(env)
    try:
        assert getattr(ledger.generation(due), "reason", None) == "timeout"
        assert getattr(ledger.generation(fresh), "status", None) == "requested"
    finally:
        ledger.close()
