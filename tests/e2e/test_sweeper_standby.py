"""Two `studio-ledger sweep --loop` processes on one PostgreSQL ledger: one sweeps, one stands by and
takes over when the first stops; both answer their probes on --health-port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, Money, Wallet
from ledger.event_store.follow import Follower
from tests.conftest import PG
from tests.support.kafka_broker import free_port

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).with_name("studio-ledger"))


def probe(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of a probe (0 and {} while nothing listens)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def eventually(check: Any, within: float = 60.0) -> Any:
    """The first truthy value of ``check()``, polled for ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s")


def expired_holds(ledger: Ledger) -> list[str]:
    return [s.event.hold_id for s in Follower(ledger).read(limit=100_000) if isinstance(s.event, Wallet.HoldExpired)]


def test_one_sweeper_sweeps_and_the_other_takes_over_when_it_stops(pg_env: dict[str, str], tmp_path: Path) -> None:
    ledger = Ledger(pg_env)
    past = datetime.now(UTC) - timedelta(hours=1)
    ledger.purchase(user_id="ana", payment_id="p1", pack_id="starter", amount=50, price=Money(1000, "INR"), at=past)
    ledger.place_hold(user_id="ana", hold_id="due-1", amount=5, at=past, expires_at=past + timedelta(minutes=1))
    env = {**os.environ, "STUDIO_STORE": "postgres", "STUDIO_POSTGRES_HOST": PG["host"],
           "STUDIO_POSTGRES_PORT": PG["port"], "STUDIO_POSTGRES_USER": PG["user"],
           "STUDIO_POSTGRES_PASSWORD": PG["password"], "STUDIO_POSTGRES_DB": pg_env["POSTGRES_DBNAME"],
           "STUDIO_POSTGRES_SCHEMA": pg_env["POSTGRES_SCHEMA"], "STUDIO_DATA_DIR": str(tmp_path)}
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            processes.append(subprocess.Popen(
                [CLI, "sweep", "--loop", "--interval", "0.3", "--health-port", str(port)], env=env,
                stdout=subprocess.DEVNULL, stderr=(tmp_path / f"sweep-{port}.log").open("wb")))
            eventually(lambda p=port: probe(p, "/readyz")[0] == 200)
        roles = [probe(port, "/readyz")[1]["role"] for port in ports]
        assert roles == ["leader", "standby"]
        assert eventually(lambda: expired_holds(ledger)) == ["due-1"]
        assert all(probe(port, "/healthz")[0] == 200 for port in ports)

        processes[0].send_signal(signal.SIGTERM)
        assert processes[0].wait(60) == 0
        eventually(lambda: probe(ports[1], "/readyz")[1].get("role") == "leader")
        now = datetime.now(UTC)
        ledger.place_hold(user_id="ana", hold_id="due-2", amount=5, at=now, expires_at=now + timedelta(seconds=1))

        assert eventually(lambda: expired_holds(ledger) == ["due-1", "due-2"])
        time.sleep(1.0)  # more sweeps: still each hold once
        assert expired_holds(ledger) == ["due-1", "due-2"]
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(20)
        ledger.close()
