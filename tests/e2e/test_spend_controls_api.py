"""Spend controls over HTTP: a learner's daily cap holds under a burst of requests, a frozen wallet is
refused with the operator's reason until unfrozen, and each edge refuses hostile input by name."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.container import Service
from tests.support.http import bearer, client_for, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A service without the image pipeline, on each store."""
    pg_env = request.getfixturevalue("pg_env") if request.param == "postgres" else None
    # Ten of a learner's requests at once: the cap, not the limit on requests in flight, is what refuses.
    return service_for(request.param, tmp_path, pg_env, with_pipeline=False, learner_generations=10)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service, alice holding the studio pack."""
    with client_for(service) as client:
        body, headers = signed(purchase("studio", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        yield client


def generate(client: TestClient) -> Any:
    """Request a poster with a fresh Idempotency-Key."""
    return client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()})


def test_a_burst_of_requests_spends_exactly_the_daily_cap(client: TestClient, service: Service) -> None:
    cost = service.catalog.get(POSTER["template_id"]).cost
    put = client.put("/v1/wallet/settings", json={"daily_spend_cap": 2 * cost}, headers=ALICE)
    assert put.status_code == 200, put.text
    assert put.json()["daily_spend_cap"] == 2 * cost
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: generate(client), range(10)))
    assert sorted(a.status_code for a in answers) == [202, 202] + [402] * 8
    refused = next(a for a in answers if a.status_code == 402)
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith(":daily-spend-cap-reached") and problem["cap"] == 2 * cost
    assert problem["resets_at"] == service.policy.day_ends(service.policy.day_of(service.clock())).isoformat()
    assert str(2 * cost) in problem["detail"] and problem["resets_at"] in problem["detail"]
    settings = client.get("/v1/wallet/settings", headers=ALICE).json()
    assert settings["spent_today"] == 2 * cost and settings["resets_at"] == problem["resets_at"]
    wallet = service.ledger.wallet("alice")
    assert wallet is not None and wallet.held == 2 * cost


@pytest.mark.parametrize(("body", "field"), [
    ({"daily_spend_cap": 10_001}, "daily_spend_cap"),
    ({"daily_spend_cap": -1}, "body.daily_spend_cap"),
    ({"daily_spend_cap": "ten"}, "body.daily_spend_cap"),
    ({"daily_spend_cap": 1e30}, "body.daily_spend_cap"),
    ({}, "body.daily_spend_cap"),
    ({"daily_spend_cap": 5, "weekly": 9}, "body.weekly"),
])
def test_a_cap_out_of_bounds_is_refused_naming_the_field(client: TestClient, body: dict[str, Any],
                                                         field: str) -> None:
    response = client.put("/v1/wallet/settings", json=body, headers=ALICE)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert client.get("/v1/wallet/settings", headers=ALICE).json()["daily_spend_cap"] is None


def test_a_frozen_wallet_is_refused_with_the_reason_until_it_is_unfrozen(client: TestClient) -> None:
    frozen = client.post("/v1/admin/wallets/alice/freeze", json={"reason": "  chargeback 4521 "},
                         headers={**ADMIN, **key()})
    assert frozen.status_code == 201, frozen.text
    refused = generate(client)
    assert refused.status_code == 403 and refused.json()["reason"] == "chargeback 4521"
    assert refused.json()["type"].endswith(":wallet-frozen")
    settings = client.get("/v1/wallet/settings", headers=ALICE).json()
    assert settings["frozen"] is True and settings["frozen_reason"] == "chargeback 4521"
    position = frozen.json()["position"]
    lines = client.get(f"/v1/wallet/statement?min_position={position}", headers=ALICE).json()["items"]
    assert lines[0]["description"] == "Wallet frozen: chargeback 4521" and lines[0]["change"] == 0
    unfrozen = client.post("/v1/admin/wallets/alice/unfreeze", json={"reason": "the bank withdrew it"},
                           headers={**ADMIN, **key()})
    assert unfrozen.status_code == 201, unfrozen.text
    assert generate(client).status_code == 202


@pytest.mark.parametrize("reason", ["", "   ", "chargeback\u202e1254", "a\x00b", "x" * 201])
def test_a_freeze_without_a_printable_reason_is_refused(client: TestClient, reason: str) -> None:
    response = client.post("/v1/admin/wallets/alice/freeze", json={"reason": reason}, headers={**ADMIN, **key()})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "body.reason"
    assert generate(client).status_code == 202


def test_only_an_admin_may_freeze_a_wallet(client: TestClient) -> None:
    response = client.post("/v1/admin/wallets/alice/freeze", json={"reason": "mine"}, headers={**ALICE, **key()})
    assert response.status_code == 403
    assert generate(client).status_code == 202
