"""The API process's probes report every part it runs: readiness says not ready when one has stopped, and
liveness fails when the process can no longer serve (no worker thread free, or a part stopped for good)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from service.container import Service
from tests.support.http import service_for

pytestmark = pytest.mark.e2e
PARTS = ["projector", "pipeline", "sweeper", "purger"]


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """The embedded default with every part: projector, pipeline, sweeper, upload purger; two worker threads."""
    return service_for("sqlite", tmp_path, threads=2, liveness_timeout_s=0.3)


def stop(service: Service, part: str) -> None:
    """Stop one part the way it would stop for good (its thread ends)."""
    {"projector": service.projector.stop, "pipeline": service.pipeline.stop, "sweeper": service.sweeper.stop,
     "purger": service.purger.stop}[part]()


def probe_until(client: TestClient, path: str, status: int) -> dict[str, Any]:
    """The probe's answer once it has the status (a stopped thread ends after its current step)."""
    deadline = time.monotonic() + 10
    while (answer := client.get(path)).status_code != status:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)
    body: dict[str, Any] = answer.json()
    return body


def test_both_probes_report_every_part_the_process_runs(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert {part: ready.json()["checks"][part] for part in PARTS} == dict.fromkeys(PARTS, "ok")
    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok", "checks": {"worker_threads": "ok", **dict.fromkeys(PARTS, "ok")}}


@pytest.mark.parametrize("part", PARTS)
def test_a_part_that_stopped_makes_the_process_not_ready_and_not_alive(client: TestClient, service: Service,
                                                                       part: str) -> None:
    stop(service, part)
    ready = probe_until(client, "/readyz", 503)
    assert ready["status"] == "not ready" and ready["checks"][part] != "ok"
    assert all(ready["checks"][other] == "ok" for other in PARTS if other != part)
    alive = probe_until(client, "/healthz", 503)
    assert alive["status"] == "failing" and alive["checks"][part] != "ok" and alive["checks"]["worker_threads"] == "ok"


def test_liveness_fails_while_no_worker_thread_is_free_and_recovers_after(client: TestClient) -> None:
    stuck = threading.Event()
    assert client.portal is not None
    for _ in range(2):  # every worker thread of the routes' pool waits on something that never comes
        client.portal.start_task_soon(anyio.to_thread.run_sync, stuck.wait)
    try:
        started = time.monotonic()
        alive = probe_until(client, "/healthz", 503)
        assert alive["checks"]["worker_threads"].startswith("no worker thread answered within 0.3 s")
        assert time.monotonic() - started < 5
    finally:
        stuck.set()
    assert probe_until(client, "/healthz", 200)["status"] == "ok"
