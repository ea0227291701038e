"""Probes of the processes without HTTP of their own: /healthz and /readyz on --health-port."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from api.probes import Probes, beats_within, loop_turns

pytestmark = pytest.mark.unit


def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()) if error.code != 404 else {}


@pytest.fixture
def probes() -> Iterator[tuple[Probes, int]]:
    served = Probes()
    port = served.serve(0, host="127.0.0.1")
    yield served, port
    served.stop()


def test_probes_answer_200_while_every_check_passes_and_503_naming_the_one_that_fails(
        probes: tuple[Probes, int]) -> None:
    served, port = probes
    served.live["loop"] = lambda: "ok"
    served.ready["broker"] = lambda: "ok"
    served.info["role"] = lambda: "leader"
    assert get(port, "/healthz") == (200, {"status": "ok", "checks": {"loop": "ok"}, "role": "leader"})

    def unreachable() -> str:
        raise ConnectionRefusedError("broker at kafka:9092 refused")

    served.ready["broker"] = unreachable
    status, body = get(port, "/readyz")
    assert status == 503
    assert body["checks"] == {"broker": "ConnectionRefusedError: broker at kafka:9092 refused"}
    assert get(port, "/healthz")[0] == 200, "liveness does not depend on the broker"
    assert get(port, "/other")[0] == 404


def test_a_blocked_event_loop_fails_liveness_and_a_running_one_passes() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        check = loop_turns(loop, timeout=0.3)
        assert check() == "ok"
        loop.call_soon_threadsafe(time.sleep, 1.0)  # a blocking call on the loop
        time.sleep(0.05)
        assert check() == "the event loop did not answer within 0.3 s"
        time.sleep(1.0)
        assert check() == "ok", "once the call returns the loop answers again"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert check() == "the event loop is not running"


def test_a_loop_that_stopped_coming_round_fails_liveness() -> None:
    last = [time.monotonic()]
    check = beats_within(lambda: last[0], 60.0)
    assert check() == "ok"
    last[0] -= 61
    assert check() == "no progress for 61 s"
