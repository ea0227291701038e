"""The API end to end on SQLite and PostgreSQL: credits in, an image out, reads that see the writes."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from projections import Projector, all_projections
from service.container import Service
from tests.support.http import POSTER, bearer, buy, client_for, finish, generate, key, service_for

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A service without the image pipeline (the tests play its part), on each store."""
    pg_env = request.getfixturevalue("pg_env") if request.param == "postgres" else None
    return service_for(request.param, tmp_path, pg_env, with_pipeline=False)


def test_a_bought_pack_pays_for_an_image_that_reaches_the_gallery_and_can_be_shared(
        client: TestClient, service: Service) -> None:
    position = buy(client)
    wallet = client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()
    assert (wallet["available"], wallet["by_source"], wallet["lifetime"]["purchased"]) == (100, {"purchase": 100}, 100)

    accepted = generate(client)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["status"], body["cost"], body["hold_id"]) == ("requested", 5, body["generation_id"])
    wallet = client.get(f"/v1/wallet?min_position={body['position']}", headers=ALICE).json()
    assert (wallet["available"], wallet["held"]) == (95, 5)

    done = finish(service, body["generation_id"])
    seen = client.get(f"/v1/generations/{body['generation_id']}?min_position={done}", headers=ALICE).json()
    assert seen["status"] == "completed"
    assert seen["image_url"].split("?")[0].endswith(".png") and "&signature=" in seen["image_url"]
    assert seen["thumbnail_url"].split("?")[0].endswith("_thumb.jpg")
    gallery = client.get("/v1/gallery", headers=ALICE).json()
    assert [i["generation_id"] for i in gallery["items"]] == [body["generation_id"]]
    wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert (wallet["available"], wallet["held"], wallet["lifetime"]["spent"]) == (95, 0, 5)

    shared = client.post(f"/v1/generations/{body['generation_id']}/share", headers={**ALICE, **key()})
    assert shared.status_code == 200, shared.text
    share = shared.json()
    assert share["share_url"].startswith("http://testserver/s/") and share["bonus_credits"] == 1
    client.get(f"/v1/wallet?min_position={share['position']}", headers=ALICE)
    page = client.get(share["share_url"].removeprefix("http://testserver"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    token = share["share_url"].rsplit("/", 1)[1]
    assert f'<meta property="og:image" content="http://testserver/s/{token}/preview.jpg">' in page.text
    assert f'<img src="http://testserver/s/{token}/image"' in page.text
    assert '<meta property="og:title" content="Intro to SQL">' in page.text
    assert 'property="og:url"' in page.text and 'name="twitter:card" content="summary_large_image"' in page.text
    assert '<span lang="en">Made with AI.' in page.text and '<span lang="hi">एआई से बनी।' in page.text
    again = client.post(f"/v1/generations/{body['generation_id']}/share", headers={**ALICE, **key()}).json()
    assert again["share_url"] == share["share_url"] and again["bonus_credits"] == 0
    assert client.get("/s/not-a-token").status_code == 404


def test_the_statement_pages_with_a_cursor_and_carries_the_running_balance(client: TestClient) -> None:
    for _ in range(3):
        buy(client)
    last = 0
    for _ in range(4):
        last = generate(client).json()["position"]
    first = client.get(f"/v1/wallet/statement?limit=3&min_position={last}", headers=ALICE).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = client.get(f"/v1/wallet/statement?limit=50&cursor={first['next_cursor']}", headers=ALICE).json()
    lines = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [line["position"] for line in lines] == sorted((line["position"] for line in lines), reverse=True)
    assert lines[0]["balance"] == 300 - 4 * 5 and lines[0]["held"] == 20
    assert sum(line["change"] for line in lines) == lines[0]["balance"]


def test_not_enough_credits_is_a_402_that_holds_nothing(client: TestClient) -> None:
    response = generate(client)
    assert response.status_code == 402
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:studio-ledger:problem:insufficient-credits"
    assert (problem["needed"], problem["available"]) == (5, 0)
    assert client.get("/v1/wallet", headers=ALICE).json()["held"] == 0


def test_an_unknown_template_is_a_404_and_bad_variables_a_422_naming_the_field(client: TestClient) -> None:
    buy(client)
    missing = generate(client, {"template_id": "no-such-template", "variables": {}})
    assert missing.status_code == 404 and missing.json()["type"].endswith(":unknown-template")
    cases = {"date": {"course": "SQL"}, "colour": {**POSTER["variables"], "colour": "red"},
             "course": {"course": "x" * 200, "date": "1 March"}}
    for field, variables in cases.items():
        response = generate(client, {"template_id": POSTER["template_id"], "variables": variables})
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    image = generate(client, {**POSTER, "input_image_url": "https://example.com/me.png"})
    assert image.status_code == 422 and image.json()["field"] == "input_image_url"
    extra = generate(client, {**POSTER, "colour": "red"})
    assert extra.status_code == 422 and extra.json()["field"] == "body.colour"


def test_a_repeated_idempotency_key_returns_the_first_answer_and_another_body_is_a_409(
        client: TestClient) -> None:
    buy(client)
    headers = {**ALICE, "Idempotency-Key": "poster-1"}
    first = client.post("/v1/generations", json=POSTER, headers=headers)
    second = client.post("/v1/generations", json=POSTER, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    other = client.post("/v1/generations", json={**POSTER, "variables": {"course": "Go", "date": "2 May"}},
                        headers=headers)
    assert other.status_code == 409 and other.json()["type"].endswith(":idempotency-key-reused")
    wallet = client.get(f"/v1/wallet?min_position={first.json()['position']}", headers=ALICE).json()
    assert wallet["held"] == 5
    assert client.post("/v1/generations", json=POSTER, headers=ALICE).json()["field"] == "header.Idempotency-Key"
    bad = client.post("/v1/generations", json=POSTER, headers={**ALICE, "Idempotency-Key": "has space"})
    assert bad.status_code == 422


def test_admins_grant_expiring_promos_and_adjust_with_a_reason(client: TestClient) -> None:
    grant = client.post("/v1/admin/wallets/bob/grants", headers={**ADMIN, **key()},
                        json={"amount": 40, "reason": "launch week", "expires_at": "2099-01-01T00:00:00Z"})
    assert grant.status_code == 201, grant.text
    taken = client.post("/v1/admin/wallets/bob/adjustments", headers={**ADMIN, **key()},
                        json={"delta": -15, "reason": "duplicate bonus"})
    assert taken.status_code == 201
    wallet = client.get(f"/v1/admin/wallets/bob?min_position={taken.json()['position']}", headers=ADMIN).json()
    assert (wallet["available"], wallet["lifetime"]["clawed_back"]) == (25, 15)
    assert [(g["source"], g["remaining"], g["expires_at"]) for g in wallet["grants"]] == [
        ("promo", 25, "2099-01-01T00:00:00Z")]
    too_much = client.post("/v1/admin/wallets/bob/adjustments", headers={**ADMIN, **key()},
                           json={"delta": -1000, "reason": "oops"})
    assert too_much.status_code == 402
    past = client.post("/v1/admin/wallets/bob/grants", headers={**ADMIN, **key()},
                       json={"amount": 5, "reason": "late", "expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422
    zero = client.post("/v1/admin/wallets/bob/adjustments", headers={**ADMIN, **key()},
                       json={"delta": 0, "reason": "nothing"})
    assert zero.status_code == 422
    assert client.get("/v1/admin/wallets/nobody", headers=ADMIN).status_code == 404


def test_reads_wait_for_the_projection_and_say_when_it_is_behind(client: TestClient, service: Service) -> None:
    position = buy(client)
    beyond = client.get(f"/v1/wallet?min_position={position + 1000}", headers=ALICE)
    assert beyond.status_code == 409 and beyond.json()["type"].endswith(":position-not-reached")
    # The projector is running (on PostgreSQL it starts once its replica takes the lock): stopping it now
    # leaves the next purchase unprojected.
    assert client.get(f"/v1/wallet?min_position={position}", headers=ALICE).status_code == 200
    service.stop_projector()
    service.api.read_wait_ms = 200
    late = buy(client)
    behind = client.get(f"/v1/wallet?min_position={late}", headers=ALICE)
    assert behind.status_code == 503 and behind.headers["Retry-After"] == "1"
    assert behind.json()["type"].endswith(":projection-behind")


def test_operations_endpoints_report_health_readiness_and_metrics(client: TestClient) -> None:
    buy(client)
    generate(client)
    assert client.get("/healthz").json()["checks"]["worker_threads"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert set(ready["checks"]) == {"event_store", "read_database", "projections", "projector"}
    text = client.get("/metrics").text
    assert 'studio_commands_total{command="request_generation",outcome="ok"} 1.0' in text
    assert "studio_request_seconds_bucket" in text and "studio_projection_lag" in text
    assert 'studio_request_seconds_count{method="POST",route="/v1/generations",status="202"} 1.0' in text
    assert "studio_held_credits" in text


def test_with_kafka_dispatch_readiness_checks_the_broker_and_metrics_show_the_relay_lag(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("STUDIO_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    service = service_for("sqlite", tmp_path, with_pipeline=False, dispatch="kafka")
    assert service.pipeline is None
    with client_for(service) as client:
        buy(client)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"].startswith("unreachable")
        # The relay has run nowhere: it is behind by every position, those of the catalogue imported on
        # start (13 templates drafted and published) and the purchase's 3.
        assert "studio_relay_lag 29.0" in client.get("/metrics").text


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_with_the_projector_in_another_process_reads_wait_for_its_progress(
        store: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """SQLite: readers poll the tracking rows. PostgreSQL: the projector announces each commit and
    the service hears it (NOTIFY), so readers are woken without asking the database."""
    pg_env = request.getfixturevalue("pg_env") if store == "postgres" else None
    service = service_for(store, tmp_path, pg_env, with_pipeline=False, run_projector=False, read_wait_ms=300)
    with client_for(service) as client:
        position = buy(client)
        assert client.get(f"/v1/wallet?min_position={position}", headers=ALICE).status_code == 503
        elsewhere = Projector(service.ledger, service.engine, all_projections())
        elsewhere.setup()
        thread = threading.Thread(target=elsewhere.run, daemon=True)
        thread.start()
        try:
            service.api.read_wait_ms = 5000
            wallet = client.get(f"/v1/wallet?min_position={position}", headers=ALICE)
            assert wallet.status_code == 200 and wallet.json()["available"] == 100
            if store == "postgres":
                assert service.watcher._heard is not None and service.watcher._heard >= position
                service.watcher.projected = None  # type: ignore[assignment,method-assign]  # no polling from here on
                later = buy(client, "creator")
                wallet = client.get(f"/v1/wallet?min_position={later}", headers=ALICE)
                assert wallet.status_code == 200 and wallet.json()["available"] > 100
        finally:
            elsewhere.stop()
            thread.join(timeout=10)


def test_cursors_and_positions_out_of_range_are_422_not_500(client: TestClient) -> None:
    for path in ("/v1/wallet/statement?cursor=99999999999999999999", "/v1/gallery?cursor=-1",
                 "/v1/wallet?min_position=99999999999999999999", "/v1/gallery?limit=100000"):
        response = client.get(path, headers=ALICE)
        assert response.status_code == 422, (path, response.text)
    assert client.get("/v1/wallet/statement?cursor=999999999999999999", headers=ALICE).json()["items"] == []


def test_the_share_bonus_is_paid_for_a_few_shares_a_day_only(client: TestClient, service: Service) -> None:
    buy(client)
    limit = service.policy.share.max_bonuses_per_day
    bonuses = []
    for _ in range(limit + 1):
        generation = generate(client).json()["generation_id"]
        finish(service, generation)
        shared = client.post(f"/v1/generations/{generation}/share", headers={**ALICE, **key()}).json()
        client.get(f"/v1/wallet?min_position={shared['position']}", headers=ALICE)
        bonuses.append(shared["bonus_credits"])
    assert bonuses == [service.policy.share.credits] * limit + [0]
    wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert wallet["lifetime"]["granted"] == service.policy.share.credits * limit


def test_a_share_retried_after_a_crash_before_its_bonus_still_earns_it_once(
        client: TestClient, service: Service) -> None:
    buy(client)
    generation = generate(client).json()["generation_id"]
    finish(service, generation)
    service.ledger.share_generation(generation_id=UUID(generation), user_id="alice", token="t0k3n", at=service.clock())
    retried = client.post(f"/v1/generations/{generation}/share", headers={**ALICE, **key()}).json()
    assert retried["share_url"].endswith("/s/t0k3n") and retried["bonus_credits"] == service.policy.share.credits
    again = client.post(f"/v1/generations/{generation}/share", headers={**ALICE, **key()}).json()
    assert again["bonus_credits"] == 0
