"""The projector process killed mid-way resumes where its last commit left off, exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger import Ledger, Money
from projections import all_projections
from projections.db import make_engine
from tests.conftest import T0

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
CLI = str(Path(sys.executable).with_name("studio-ledger"))


def fill(data: Path, users: int) -> int:
    """Purchases, holds and captures for many users in a SQLite event store; the head position."""
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(data / "events.db")})
    try:
        for n in range(users):
            at = T0 + timedelta(seconds=n)
            ledger.purchase(user_id=f"u{n}", payment_id=f"p{n}", pack_id="starter", amount=100,
                            price=Money(9900, "INR"), at=at)
            ledger.place_hold(user_id=f"u{n}", hold_id="h", amount=10 + n % 7, at=at)
            ledger.capture(user_id=f"u{n}", hold_id="h", amount=n % 5, at=at + timedelta(seconds=1))
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def tracked(read_db: Path) -> dict[str, int]:
    """The committed tracking rows (none before the tables exist)."""
    try:
        with sqlite3.connect(read_db) as conn:
            return dict(conn.execute("SELECT name, position FROM projection_tracking").fetchall())
    except sqlite3.OperationalError:
        return {}


def rows(read_db: Path) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every projection table."""
    engine = make_engine(f"sqlite:///{read_db}")
    try:
        with engine.connect() as conn:
            return {t.name: sorted(tuple(map(str, r)) for r in conn.execute(select(t)))
                    for p in all_projections() for t in p.tables}
    finally:
        engine.dispose()


def projector(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A `studio-ledger projector` process in its own session."""
    return subprocess.Popen([CLI, "projector"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_projector_killed_mid_way_resumes_and_matches_a_rebuild(tmp_path: Path) -> None:
    head = fill(tmp_path, 400)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_DATA_DIR=str(tmp_path), STUDIO_STORE="sqlite")
    read_db = tmp_path / "read.db"
    first = projector(env)
    try:
        deadline = time.monotonic() + 60
        while not any(0 < p < head for p in tracked(read_db).values()):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.002)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert min(tracked(read_db).values()) < head, "the projector finished before it could be killed"

    second = projector(env)
    try:
        deadline = time.monotonic() + 60
        while set(tracked(read_db).values()) != {head}:
            assert time.monotonic() < deadline and second.poll() is None
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    resumed = rows(read_db)
    subprocess.run([CLI, "projections", "rebuild"], env=env, check=True, capture_output=True)
    assert rows(read_db) == resumed
    assert set(tracked(read_db).values()) == {head}
