"""The frame of the relay, the projector and the sweeper: lead or stand by, probes, signals, a lost lock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from api.processes.leading import lead, lead_async
from tests.support.kafka_broker import free_port

pytestmark = pytest.mark.unit
STORE = SimpleNamespace(recorder=SimpleNamespace(max_notification_id=lambda: 7))


class FakeLock:
    """A lock that is free or held elsewhere, and that stays held or goes once taken."""

    def __init__(self, *, free: bool = True, stays: bool = True) -> None:
        self.free, self.stays, self.released = free, stays, False

    def try_acquire(self) -> bool:
        return self.free

    def still_held(self) -> bool:
        return self.stays

    def release(self) -> None:
        self.released = True


@pytest.fixture(autouse=True)
def signal_handlers() -> Iterator[None]:
    """The test runner's own SIGINT and SIGTERM handlers, put back after each test."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def readyz(port: int, path: str = "/readyz") -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        return dict(json.loads(answer.read()))


def test_a_leader_runs_its_work_with_its_role_and_checks_on_its_probes_then_releases_and_closes() -> None:
    lock, closed, port = FakeLock(), threading.Event(), free_port()

    def run() -> tuple[dict[str, Any], dict[str, Any]]:
        return readyz(port), readyz(port, "/healthz")

    answers = lead("sweeper", lock, run, lambda: None, store=STORE, close=closed.set, health_port=port,
                  live={"sweep loop": lambda: "ok"})

    assert answers == ({"status": "ok", "checks": {"event store": "ok"}, "role": "leader"},
                       {"status": "ok", "checks": {"sweep loop": "ok"}, "role": "leader"})
    assert lock.released and closed.is_set()
    with pytest.raises(OSError):
        readyz(port)


def test_a_standby_stopped_by_sigterm_returns_nothing_without_running_its_work() -> None:
    lock, closed, ran = FakeLock(free=False), threading.Event(), threading.Event()
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()

    assert lead("projector", lock, ran.set, lambda: None, store=STORE, close=closed.set) is None

    assert not ran.is_set()
    assert lock.released and closed.is_set()


def test_a_leader_whose_lock_goes_stops_its_work_and_exits_to_stand_by() -> None:
    stopped = threading.Event()

    with pytest.raises(SystemExit) as exited:
        lead("projector", FakeLock(stays=False), lambda: stopped.wait(10), stopped.set, store=STORE,
             close=lambda: None)
    assert exited.value.code == "projector: lost its lock to another process; exiting to stand by"
    assert stopped.is_set()


def test_a_one_off_run_exits_saying_so_when_another_process_holds_the_lock() -> None:
    lock, closed, ran = FakeLock(free=False), threading.Event(), threading.Event()

    with pytest.raises(SystemExit) as exited:
        lead("sweeper", lock, ran.set, lambda: None, store=STORE, close=closed.set, busy="busy elsewhere")

    assert exited.value.code == "sweeper: busy elsewhere"
    assert not ran.is_set()
    assert lock.released and closed.is_set()


def test_work_on_an_event_loop_stops_on_sigterm_and_its_loop_is_its_liveness() -> None:
    lock, closed, port = FakeLock(), threading.Event(), free_port()
    stop = asyncio.Event()
    seen: dict[str, Any] = {}

    async def run() -> str:
        seen["ready"] = await asyncio.to_thread(readyz, port)
        seen["live"] = await asyncio.to_thread(readyz, port, "/healthz")
        os.kill(os.getpid(), signal.SIGTERM)
        await stop.wait()
        return "stopped"

    assert lead_async("relay r", lock, run, stop.set, store=STORE, close=closed.set, health_port=port) == "stopped"
    assert seen == {"ready": {"status": "ok", "checks": {"event store": "ok"}, "role": "leader"},
                    "live": {"status": "ok", "checks": {"event loop": "ok"}, "role": "leader"}}
    assert lock.released and closed.is_set()


def test_work_on_an_event_loop_whose_lock_goes_is_stopped_on_the_loop_and_exits_to_stand_by() -> None:
    stop = asyncio.Event()

    async def run() -> None:
        await asyncio.wait_for(stop.wait(), 10)

    with pytest.raises(SystemExit) as exited:
        lead_async("relay r", FakeLock(stays=False), run, stop.set, store=STORE, close=lambda: None)
    assert exited.value.code == "relay r: lost its lock to another process; exiting to stand by"
    assert stop.is_set()
