"""A process that cannot start says why in one line on stderr and exits non-zero, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG
from tests.support.startup import one_line, refused

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def studio_ledger(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would, in its own process, with ``env`` added to a clean STUDIO_*
    environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**base, "STUDIO_DATA_DIR": str(tmp_path), **env}, timeout=60, check=False)


def test_an_unknown_store_is_named_with_the_choices(tmp_path: Path) -> None:
    line = one_line(studio_ledger(tmp_path, "wallet", "alice", STUDIO_STORE="mysql"))
    assert "STUDIO_STORE" in line and "'mysql'" in line and "postgres" in line


def test_a_missing_postgresql_database_is_named_at_once_with_how_to_create_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = f"studio_missing_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    line = refused(monkeypatch, capsys, tmp_path, "wallet", "alice", STUDIO_STORE="postgres",
                   STUDIO_POSTGRES_DB=missing, STUDIO_POSTGRES_HOST=PG["host"], STUDIO_POSTGRES_PORT=PG["port"],
                   STUDIO_POSTGRES_USER=PG["user"], STUDIO_POSTGRES_PASSWORD=PG["password"])
    assert time.monotonic() - started < 15
    assert f'database "{missing}" does not exist' in line
    assert f"createdb -h {PG['host']} -p {PG['port']} -U {PG['user']} {missing}" in line


def test_an_unreachable_postgresql_server_is_named(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = refused(monkeypatch, capsys, tmp_path, "projections", "rebuild", STUDIO_STORE="postgres",
                   STUDIO_POSTGRES_HOST="127.0.0.1", STUDIO_POSTGRES_PORT="1")
    assert "cannot connect to PostgreSQL at 127.0.0.1:1" in line


def test_the_service_refuses_a_short_webhook_secret_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = refused(monkeypatch, capsys, tmp_path, "serve", STUDIO_DISPATCH="kafka", STUDIO_JWT_SECRET="j" * 40,
                   STUDIO_WEBHOOK_SECRET="abc")
    assert line.endswith("STUDIO_WEBHOOK_SECRET must be at least 32 characters long")


def test_the_service_refuses_a_pack_cheaper_than_redemption_naming_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shipped = (ROOT / "service" / "policy.toml").read_text()
    policy = tmp_path / "policy.toml"
    policy.write_text(shipped.replace('id = "creator"', 'id = "bargain-bin"').replace("price_minor = 4900",
                                                                                       "price_minor = 49900"))
    line = refused(monkeypatch, capsys, tmp_path, "serve", "--port", "1", STUDIO_POLICY_FILE=str(policy))
    assert "pack 'bargain-bin' gives 1.10 credits per INR, fewer than the 10 of redemption" in line
    assert str(policy) in line


def test_the_service_refuses_a_share_bonus_that_pays_for_its_own_generation_naming_both(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shipped = (ROOT / "service" / "policy.toml").read_text()
    policy = tmp_path / "policy.toml"
    policy.write_text(shipped.replace("\ncredits = 1\n", "\ncredits = 5\n"))
    line = refused(monkeypatch, capsys, tmp_path, "serve", "--port", "1", STUDIO_POLICY_FILE=str(policy))
    assert line == (f"studio-ledger: {policy}: the share bonus (5 credits, [share] credits) pays for its own "
                    "generation: template 'social-achievement' costs 2; the bonus must be less than every "
                    "template's cost")


@pytest.mark.parametrize("process", ["serve", "worker", "relay"])
def test_a_traces_exporter_the_service_does_not_have_is_named_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, process: str) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    line = refused(monkeypatch, capsys, tmp_path, process)
    assert line == ("studio-ledger: OTEL_TRACES_EXPORTER='jaeger' is not an exporter this service has: "
                    "use otlp, console or none")


def test_the_service_refuses_an_exchange_rate_it_cannot_read_naming_it(tmp_path: Path) -> None:
    line = one_line(studio_ledger(tmp_path, "serve", "--port", "0", STUDIO_FINANCE_USD_RATES="INR=eighty"))
    assert "STUDIO_FINANCE_USD_RATES" in line and "INR='eighty'" in line
    line = one_line(studio_ledger(tmp_path, "serve", "--port", "0", STUDIO_FINANCE_CURRENCY="EUR"))
    assert "no rate for the reporting currency EUR" in line
