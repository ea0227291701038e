"""The restore drill, on SQLite and PostgreSQL: back up a store while commands are written to it,
restore it somewhere new, rebuild the projections, `audit verify` passes and every balance equals the
original's at the position the backup names."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from ledger import Ledger, Money
from projections.audit.fold import Replay
from projections.audit.replay import replay
from projections.audit.reports import balance_rows
from projections.audit.stored import rows
from service.settings import StoreSettings
from tests.conftest import PG
from tests.support.ledgers import busy_ledger, complete, request

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@dataclass
class Stores:
    """The settings of the store to back up and of the new place to restore it into."""

    original: dict[str, str]
    restored: dict[str, str]


def _pg(database: str, schema: str) -> dict[str, str]:
    return {"STUDIO_STORE": "postgres", "STUDIO_POSTGRES_HOST": PG["host"], "STUDIO_POSTGRES_PORT": PG["port"],
            "STUDIO_POSTGRES_USER": PG["user"], "STUDIO_POSTGRES_PASSWORD": PG["password"],
            "STUDIO_POSTGRES_DB": database, "STUDIO_POSTGRES_SCHEMA": schema, "STUDIO_GROUP_COMMIT": "false",
            "STUDIO_POSTGRES_POOL_SIZE": "2"}


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """A store of each kind with a busy month in it, and an empty place for its restore."""
    if request.param == "sqlite":
        yield Stores({"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path / "original"),
                      "STUDIO_GROUP_COMMIT": "false"},
                     {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path / "restored"),
                      "STUDIO_GROUP_COMMIT": "false"})
        return
    database: str = request.getfixturevalue("pg_database")
    schema = request.getfixturevalue("pg_env")["POSTGRES_SCHEMA"]
    fresh = f"studio_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(f'CREATE DATABASE "{fresh}"')
    try:
        yield Stores(_pg(database, schema), _pg(fresh, schema))
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def studio(env: dict[str, str], *args: str) -> tuple[int, str]:
    """`studio-ledger ARGS` with these settings: its exit code and what it printed."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def ledger_for(env: dict[str, str]) -> Ledger:
    """A ledger on the store these settings name."""
    # Each variable as its field; STUDIO_STORE is the field's own alias.
    fields = {k if k == "STUDIO_STORE" else k.removeprefix("STUDIO_").lower(): v for k, v in env.items()}
    settings = StoreSettings(**fields)  # type: ignore[arg-type]
    return Ledger(settings.event_store_env())


class Writer(threading.Thread):
    """Commands written to the ledger one after another until stopped: the store is busy."""

    def __init__(self, app: Ledger) -> None:
        super().__init__(daemon=True)
        self.app, self.stop, self.written, self.error = app, threading.Event(), 0, None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                now, user = datetime.now(UTC), f"busy-{self.written % 5}"
                self.app.purchase(user_id=user, payment_id=f"pay-{self.written}", pack_id="starter", amount=10,
                                  price=Money(99, "USD"), at=now)
                if self.written % 3 == 0:
                    complete(self.app, request(self.app, user, f"gen-{self.written}", 4, now), now)
                self.written += 1
        except Exception as error:  # the test reports it
            self.error = error


def balances_at(app: Ledger, position: int) -> list[dict[str, object]]:
    """Every wallet's balances from the events up to ``position`` alone."""
    folded = Replay()
    for page in rows(app):
        folded.feed([r for r in page if r.position <= position])
    return balance_rows(folded, datetime.now(UTC))


def test_a_busy_store_backed_up_and_restored_elsewhere_verifies_and_has_every_balance(
        stores: Stores, tmp_path: Path) -> None:
    original = ledger_for(stores.original)
    busy_ledger(original)
    assert studio(stores.original, "store", "init")[0] == 0  # read tables and positions, backed up with it
    writer = Writer(original)
    writer.start()
    try:
        while writer.written < 20 and writer.error is None:
            threading.Event().wait(0.01)
        code, out = studio(stores.original, "store", "backup", str(tmp_path / "ledger.backup"))
        written_during = writer.written
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None, writer.error
    assert code == 0, out
    position = int(re.search(r"ledger position (\d+)", out).group(1))  # type: ignore[union-attr]
    assert (original.recorder.max_notification_id() or 0) > position  # commands went on after the snapshot
    assert written_during > 20

    code, out = studio(stores.restored, "store", "restore", str(tmp_path / "ledger.backup"))
    assert code == 0, out
    assert f"ledger position {position}" in out
    code, out = studio(stores.restored, "projections", "rebuild")
    assert code == 0, out
    code, out = studio(stores.restored, "audit", "verify", "--no-progress")
    assert code == 0, out
    assert out.startswith("OK: ")

    restored = ledger_for(stores.restored)
    try:
        assert restored.recorder.max_notification_id() == position
        again = balance_rows(replay(restored), datetime.now(UTC))
        assert again == balances_at(original, position)
        assert len(again) == 7  # ann, bob and the five busy learners
    finally:
        restored.close()
        original.close()
