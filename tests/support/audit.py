"""The audit command line run over a SQLite store the tests fill."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app as cli
from ledger import Ledger
from service.settings.store import StoreSettings
from tests.support.ledgers import busy_ledger


def busy_store(tmp_path: Path) -> dict[str, str]:
    """A SQLite event store with a busy month in it; the settings that point at it."""
    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path), "STUDIO_GROUP_COMMIT": "false"}
    settings = StoreSettings(backend="sqlite", data_dir=tmp_path)
    ledger = Ledger(settings.event_store_env())
    busy_ledger(ledger)
    env["events_table"] = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    ledger.close()
    return env


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `studio-ledger audit ARGS` with ``env``: its exit code and what it printed."""
    result = CliRunner().invoke(cli, ["audit", *args, "--no-progress"], env=env)
    return result.exit_code, result.output
