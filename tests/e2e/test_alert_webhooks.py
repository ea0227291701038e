"""Alerts delivered as signed webhooks to a real HTTP receiver: retried with backoff while it fails, each
alert once with its id as Idempotency-Key, given up after the attempts and replayed by an operator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.http.signatures import check_signature, parse_header
from service.alert_delivery import AlertDeliverer
from service.container import Service
from service.settings.parts import AlertWebhookSettings
from tests.support.http import bearer, client_for, key, purchase, service_for, signed
from tests.support.platform_fake import free_port

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")
SECRET = "an-alert-webhook-secret-long-enough"
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


class Receiver:
    """The operator's endpoint on a free port: checks our signature, fails its first ``failing`` calls."""

    def __init__(self) -> None:
        self.failing = 0
        self.received: list[dict[str, Any]] = []
        self.keys: list[str] = []
        app = Starlette(routes=[Route("/alerts", self.receive, methods=["POST"])])
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        check_signature(SECRET, body, parse_header(request.headers.get("Studio-Signature"), now=time.time(),
                                                   tolerance=300))
        if self.failing:
            self.failing -= 1
            return JSONResponse({"error": "busy"}, status_code=503)
        self.received.append(json.loads(body))
        self.keys.append(request.headers["Idempotency-Key"])
        return JSONResponse({"ok": True})

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The receiver, served until the test ends."""
    served = Receiver()
    yield served
    served.stop()


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """The embedded default without the pipeline (the test turns the deliverer itself)."""
    return service_for("sqlite", tmp_path, with_pipeline=False)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service; alice has crossed below her threshold once."""
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        client.put("/v1/wallet/settings", json={"daily_spend_cap": None, "low_balance_below": 99}, headers=ALICE)
        last = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()}).json()["position"]
        assert client.get(f"/v1/wallet/alerts?min_position={last}", headers=ALICE).json()["items"]
        yield client


def deliverer(service: Service, url: str, attempts: int = 4) -> AlertDeliverer:
    """The deliverer the sweeper turns, sending to ``url``."""
    return AlertDeliverer(service.engine, url=url, secret=SECRET, timeout_s=1.0, attempts=attempts,
                          retry=timedelta(seconds=10), clock=service.clock)


def test_an_alert_is_retried_with_backoff_and_delivered_once(client: TestClient, service: Service,
                                                             receiver: Receiver) -> None:
    receiver.failing = 2
    deliver = deliverer(service, f"http://127.0.0.1:{receiver.port}/alerts")
    now = service.clock()
    assert deliver.deliver(now) == 0
    assert deliver.deliver(now + timedelta(seconds=5)) == 0  # not due: it waits 10 s after the first failure
    assert deliver.deliver(now + timedelta(seconds=11)) == 0  # the second failure: 20 s more
    assert deliver.deliver(now + timedelta(seconds=32)) == 1
    assert deliver.deliver(now + timedelta(hours=2)) == 0  # delivered: never sent again
    assert [a["kind"] for a in receiver.received] == ["low-balance"] and receiver.keys == [
        receiver.received[0]["alert_id"]]
    log = client.get("/v1/admin/alert-deliveries", headers=ADMIN).json()
    assert [(d["status"], d["attempts"]) for d in log] == [("delivered", 3)]


def test_a_delivery_given_up_is_in_the_log_and_an_operator_replays_it(client: TestClient, service: Service,
                                                                      receiver: Receiver) -> None:
    down = deliverer(service, f"http://127.0.0.1:{free_port()}/alerts", attempts=2)
    now = service.clock()
    down.deliver(now)
    down.deliver(now + timedelta(minutes=1))
    failed = client.get("/v1/admin/alert-deliveries?status=failed", headers=ADMIN).json()
    assert len(failed) == 1 and failed[0]["attempts"] == 2 and "no answer" in failed[0]["last_error"]
    replayed = client.post(f"/v1/admin/alert-deliveries/{failed[0]['alert_id']}/replay", headers={**ADMIN, **key()})
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    assert deliverer(service, f"http://127.0.0.1:{receiver.port}/alerts").deliver(service.clock()) == 1
    assert [a["alert_id"] for a in receiver.received] == [failed[0]["alert_id"]]


@pytest.mark.parametrize("alert_id", ["nope", "low-balance@1' or 1=1", "x" * 81])
def test_replaying_an_unknown_or_malformed_delivery_is_refused(client: TestClient, alert_id: str) -> None:
    response = client.post(f"/v1/admin/alert-deliveries/{alert_id}/replay", headers={**ADMIN, **key()})
    assert response.status_code in (404, 422)


def test_only_an_admin_reads_the_delivery_log(client: TestClient) -> None:
    assert client.get("/v1/admin/alert-deliveries", headers=ALICE).status_code == 403


@pytest.mark.parametrize(("env", "named"), [
    ({"STUDIO_ALERT_WEBHOOK_URL": "mailto:ops@example.com"}, "STUDIO_ALERT_WEBHOOK_URL"),
    ({"STUDIO_ALERT_WEBHOOK_URL": "https://ops.example.com/hook"}, "STUDIO_ALERT_WEBHOOK_SECRET"),
    ({"STUDIO_ALERT_WEBHOOK_ATTEMPTS": "0"}, "alert_webhook_attempts"),
])
def test_alert_webhook_settings_out_of_bounds_are_refused_by_name(monkeypatch: pytest.MonkeyPatch,
                                                                  env: dict[str, str], named: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=named):
        AlertWebhookSettings()


def test_the_delivery_log_reads_empty_where_no_alert_webhook_was_ever_set(service: Service) -> None:
    with client_for(service) as fresh:
        response = fresh.get("/v1/admin/alert-deliveries", headers=ADMIN)
        assert response.status_code == 200 and response.json() == []
        missing = fresh.post("/v1/admin/alert-deliveries/low-balance@1/replay", headers={**ADMIN, **key()})
        assert missing.status_code == 404
