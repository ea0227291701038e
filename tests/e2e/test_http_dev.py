"""The embedded default's sign-in and demo purchase: real tokens, real signed webhook deliveries; 404 elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.processes.serve import welcome
from service.container import Service
from service.idempotency import idempotency_answers
from service.settings import demo_refused
from service.settings.api import EMBEDDED_JWT_SECRET, EMBEDDED_WEBHOOK_SECRET
from tests.support.http import bearer, client_for, key, service_for, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice", secret=EMBEDDED_JWT_SECRET)
UNTOUCHED = {"jwt_secret": SecretStr(EMBEDDED_JWT_SECRET), "webhook_secret": SecretStr(EMBEDDED_WEBHOOK_SECRET)}


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """The untouched embedded default (SQLite, in-process dispatch, its own secrets, on loopback) without the
    pipeline."""
    return service_for("sqlite", tmp_path, with_pipeline=False, **UNTOUCHED)


def available(client: TestClient, headers: dict[str, str], position: int) -> int:
    """The caller's available credits once the projections reach ``position``."""
    return int(client.get(f"/v1/wallet?min_position={position}", headers=headers).json()["available"])


def test_a_dev_token_signs_in_as_the_named_user_for_the_configured_lifetime(client: TestClient) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.post("/v1/dev/token", json={"user_id": "carol"})
    assert response.status_code == 200, response.text
    body = response.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/v1/wallet", headers=headers).json()["user_id"] == "carol"
    expires = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(days=1) <= expires <= datetime.now(UTC) + timedelta(days=1)
    assert client.get("/v1/admin/wallets/carol", headers=headers).status_code == 403


def test_a_dev_token_with_the_admin_role_opens_the_admin_routes(client: TestClient) -> None:
    token = client.post("/v1/dev/token", json={"user_id": "ops", "role": "admin"}).json()["token"]
    grant = client.post("/v1/admin/wallets/carol/grants", json={"amount": 5, "reason": "welcome"},
                        headers={"Authorization": f"Bearer {token}", **key()})
    assert grant.status_code == 201, grant.text


@pytest.mark.parametrize(("body", "field"), [
    ({"user_id": ""}, "body.user_id"),
    ({"user_id": " alice"}, "body.user_id"),
    ({"user_id": "x" * 201}, "body.user_id"),
    ({"user_id": "alice", "role": "owner"}, "body.role"),
    ({"user_id": "alice", "roles": ["admin"]}, "body.roles"),
])
def test_a_dev_token_for_a_bad_body_is_a_422_naming_the_field(client: TestClient, body: dict[str, object],
                                                             field: str) -> None:
    response = client.post("/v1/dev/token", json=body)
    assert response.status_code == 422 and response.json()["field"] == field


def test_a_demo_purchase_goes_through_the_signed_webhook_and_credits_the_pack(client: TestClient,
                                                                              service: Service) -> None:
    response = client.post("/v1/dev/purchase", json={"pack_id": "creator"}, headers={**ALICE, **key()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["type"], body["repeated"], body["pack_id"], body["credits"]) == ("CreditPackPurchased", False,
                                                                                   "creator", 550)
    assert available(client, ALICE, body["position"]) == 550
    line = client.get("/v1/wallet/statement", headers=ALICE).json()["items"][0]
    assert (line["type"], line["change"]) == ("CreditsPurchased", 550) and body["payment_id"] in line["reference"]
    with service.engine.connect() as conn:  # the webhook's own idempotency record, under the payment id
        scopes = conn.execute(select(idempotency_answers.c.kind, idempotency_answers.c.principal).where(
            idempotency_answers.c.key == body["payment_id"])).all()
    assert [tuple(s) for s in scopes] == [("webhook", "payments")]
    # The payment flow delivering the same payment later changes nothing.
    message = {"type": "CreditPackPurchased", "payment_id": body["payment_id"], "user_id": "alice",
               "pack_id": "creator", "amount_minor": 4900, "currency": "INR"}
    content, headers = signed(message, secret=EMBEDDED_WEBHOOK_SECRET)
    again = client.post("/v1/webhooks/payments", content=content, headers=headers)
    assert again.status_code == 200 and again.json()["repeated"]
    assert available(client, ALICE, again.json()["position"]) == 550


def test_a_demo_purchase_retried_with_its_key_credits_once_and_another_pack_under_it_is_a_409(
        client: TestClient) -> None:
    headers = {**ALICE, **key()}
    first = client.post("/v1/dev/purchase", json={"pack_id": "starter"}, headers=headers)
    retried = client.post("/v1/dev/purchase", json={"pack_id": "starter"}, headers=headers)
    assert first.status_code == retried.status_code == 200
    assert first.json() == retried.json()
    other = client.post("/v1/dev/purchase", json={"pack_id": "studio"}, headers=headers)
    assert other.status_code == 409 and other.json()["type"].endswith(":idempotency-key-reused")
    assert headers["Idempotency-Key"] in other.json()["detail"]
    assert available(client, ALICE, first.json()["position"]) == 100


def test_the_same_key_from_two_users_is_two_purchases(client: TestClient) -> None:
    shared = key()
    bob = bearer("bob", secret=EMBEDDED_JWT_SECRET)
    for headers in (ALICE, bob):
        response = client.post("/v1/dev/purchase", json={"pack_id": "starter"}, headers={**headers, **shared})
        assert response.status_code == 200 and not response.json()["repeated"]
        assert available(client, headers, response.json()["position"]) == 100


def test_a_demo_purchase_of_an_unknown_pack_is_a_422_naming_pack_id(client: TestClient) -> None:
    response = client.post("/v1/dev/purchase", json={"pack_id": "gold"}, headers={**ALICE, **key()})
    assert response.status_code == 422
    assert response.json()["field"] == "pack_id" and "starter" in response.json()["detail"]


def test_a_demo_purchase_needs_a_token_and_an_idempotency_key(client: TestClient) -> None:
    assert client.post("/v1/dev/purchase", json={"pack_id": "starter"}, headers=key()).status_code == 401
    response = client.post("/v1/dev/purchase", json={"pack_id": "starter"}, headers=ALICE)
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["field"]


@pytest.mark.parametrize("settings", [
    {"dispatch": "kafka", "run_sweeper": False},
    {},  # the operator's own JWT and webhook secrets
    {"jwt_secret": SecretStr(EMBEDDED_JWT_SECRET)},
    {"webhook_secret": SecretStr(EMBEDDED_WEBHOOK_SECRET)},
    {"host": "0.0.0.0", **UNTOUCHED},
    {"host": "192.168.1.20", **UNTOUCHED},
    {"host": "::", **UNTOUCHED},
], ids=["kafka", "own-secrets", "own-webhook-secret", "own-jwt-secret", "any-address", "lan", "any-ipv6"])
def test_the_dev_routes_are_404_problems_unless_on_the_untouched_embedded_default_on_loopback(
        tmp_path: Path, settings: dict[str, Any]) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False, **settings)
    headers = bearer("alice", secret=service.api.jwt_secret.get_secret_value())
    with client_for(service) as client:
        token = client.post("/v1/dev/token", json={"user_id": "mallory", "role": "admin"})
        purchase = client.post("/v1/dev/purchase", json={"pack_id": "studio"}, headers={**headers, **key()})
        for response in (token, purchase):
            assert response.status_code == 404, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "here it is off" in response.json()["detail"]
        assert client.get("/v1/config").json()["embedded"] is False
        assert 'id="signin-form"' not in client.get("/").text
    assert f"demo sign-in and purchase: off ({demo_refused(service.store, service.api)})" in welcome(
        service.api, service.store)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_the_untouched_embedded_default_on_loopback_has_the_demo_and_says_so(tmp_path: Path, host: str) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False, host=host, **UNTOUCHED)
    assert demo_refused(service.store, service.api) is None
    assert "demo sign-in and purchase: on" in welcome(service.api, service.store)
    with client_for(service) as client:
        assert client.post("/v1/dev/token", json={"user_id": "alice"}).status_code == 200
        assert client.get("/v1/config").json()["embedded"] is True and 'id="signin-form"' in client.get("/").text
