"""The boundary campaign over HTTP: hostile bodies, headers and parameters into every route of a running
service on SQLite, with its projector. Each ends in a clear 4xx (a problem document that says what is
wrong) or is accepted, never a 5xx; and afterwards the service answers normally: ready, reads follow
the ledger, a learner buys and spends.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api.http.app import create_app
from api.http.signatures import sign
from service.container import Service
from service.messages import PAYMENT_MESSAGES
from tests.support.hostile import TEXT, deep_json, hostile_messages
from tests.support.http import WEBHOOK_SECRET, bearer, client_for, key, purchase, service_for, signed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ALICE = bearer("alice", "admin")
CAMPAIGN = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])
JSON_ROUTES = [("POST", "/v1/generations"), ("POST", "/v1/webhooks/payments"),
               ("POST", "/v1/admin/wallets/alice/grants"), ("POST", "/v1/admin/wallets/alice/adjustments"),
               ("POST", "/v1/generations/00000000-0000-0000-0000-000000000000/share")]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    """A service on SQLite with its projector and the in-process pipeline."""
    return service_for("sqlite", tmp_path_factory.mktemp("campaign"), read_wait_ms=2000)


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service."""
    with client_for(service) as client:
        yield client


def clear(response: Any) -> None:
    """A response that is no server error, and whose refusal says what is wrong."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if response.status_code >= 400 and response.status_code != 405:
        problem = response.json()
        assert problem.get("title") and problem.get("status") == response.status_code, problem


def answers_normally(client: TestClient) -> None:
    """The service is ready, a new purchase is credited and read back, and the credits buy an image."""
    assert client.get("/readyz").status_code == 200
    user = f"after-{uuid.uuid4().hex[:8]}"
    body, headers = signed(purchase("starter", user=user))
    bought = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert bought.status_code == 200, bought.text
    who = bearer(user)
    wallet = client.get(f"/v1/wallet?min_position={bought.json()['position']}", headers=who)
    assert wallet.status_code == 200 and wallet.json()["available"] == 100, wallet.text
    made = client.post("/v1/generations", headers={**who, **key()}, json={
        "template_id": "poster-motivational", "variables": {"quote": "Edges that hold", "scene": "ocean"}})
    assert made.status_code == 202, made.text


@CAMPAIGN
@given(message=hostile_messages(PAYMENT_MESSAGES.json_schema()))
def test_hostile_payment_webhooks_end_in_a_clear_answer(client: TestClient, message: dict[str, Any]) -> None:
    body, headers = signed(message)
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    clear(response)
    if response.status_code == 200:  # what the ledger accepted, the read side follows
        followed = client.get(f"/v1/wallet?min_position={response.json()['position']}", headers=ALICE)
        assert followed.status_code == 200, followed.text


@CAMPAIGN
@given(header=st.sampled_from(["Authorization", "Idempotency-Key", "Studio-Signature", "Content-Type", "Accept"]),
       value=st.one_of(TEXT, st.sampled_from(["Bearer ²", "Bearer " + "x" * 9000, "t=²,v1=00", "t=1,v1=ǆ",
                                              "t=99999999999999999999,v1=00", "t=-1,v1=" + "0" * 64])),
       route=st.sampled_from([("GET", "/v1/wallet"), ("GET", "/v1/gallery"), ("POST", "/v1/generations"),
                              ("POST", "/v1/webhooks/payments"), ("GET", "/v1/wallet/statement")]))
def test_hostile_headers_end_in_a_clear_answer(client: TestClient, header: str, value: str,
                                                route: tuple[str, str]) -> None:
    body, headers = signed(purchase())
    headers = {**headers, **ALICE, header: value.encode("utf-8", "surrogatepass")}  # type: ignore[dict-item]
    clear(client.request(route[0], route[1], content=body, headers=headers))


@CAMPAIGN
@given(name=st.sampled_from(["min_position", "cursor", "limit", "expires", "signature", "lang", "style"]),
       value=st.one_of(TEXT, st.integers().map(str), st.sampled_from(["²", "٣", "1e400", "-1", "9" * 40])),
       path=st.sampled_from(["/v1/wallet", "/v1/gallery", "/v1/wallet/statement", "/v1/templates",
                             "/media/generations/x.png", "/v1/templates/course-poster/preview.png", "/s/none"]))
def test_hostile_query_parameters_end_in_a_clear_answer(client: TestClient, name: str, value: str, path: str) -> None:
    response = client.get(path, params={name: value}, headers=ALICE)
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"


@pytest.mark.parametrize("body", [deep_json(100_000), b"\xff\xfe{", b'{"a": 1e999999}', b"[" * 10,
                                  json.dumps({"template_id": "x" * 1_000_000}).encode(),
                                  json.dumps({"variables": {str(i): "v" for i in range(50_000)}}).encode()],
                         ids=["deep", "not-utf8", "huge-number", "truncated", "huge-string", "many-keys"])
def test_bodies_no_parser_should_trust_end_in_a_clear_answer(client: TestClient, body: bytes) -> None:
    for method, path in JSON_ROUTES:
        headers = {**ALICE, **key(), "Content-Type": "application/json"}
        if path.startswith("/v1/webhooks"):
            headers["Studio-Signature"] = sign(WEBHOOK_SECRET, body, int(time.time()))
        clear(client.request(method, path, content=body, headers=headers))
    answers_normally(client)


def test_every_route_refuses_what_its_schema_refuses(service: Service, client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service, manage=False))
    operations = [result.ok() for result in schema.get_all_operations()]
    unbreakable: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            headers = {**ALICE, "Idempotency-Key": uuid.uuid4().hex, **(case.headers or {})}
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            call()
        except Unsatisfiable:  # an operation without a parameter or body that a negative case could break
            unbreakable.append(operation.label)
    assert len(unbreakable) < len(operations) / 2, unbreakable
    answers_normally(client)


def test_after_the_campaign_the_service_answers_normally(client: TestClient) -> None:
    answers_normally(client)


def test_a_service_with_a_campaign_behind_it_restarts_and_follows(tmp_path: Path) -> None:
    first = service_for("sqlite", tmp_path, with_pipeline=False, read_wait_ms=2000)
    with client_for(first) as client:
        for amount in (10**20, 2**63, 2**31, -1):
            body, headers = signed({"type": "WalletBalanceRedeemed", "redemption_id": f"r-{amount}",
                                    "user_id": "alice", "amount_minor": amount, "currency": "INR"})
            clear(client.post("/v1/webhooks/payments", content=body, headers=headers))
        answers_normally(client)
    again = service_for("sqlite", tmp_path, with_pipeline=False, read_wait_ms=2000)
    with client_for(again) as client:
        answers_normally(client)
