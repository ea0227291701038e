"""Recharges over HTTP on the embedded default's demo wallet: the terms, a recharge recorded then driven to
its end by the sweeper's driver, and every hostile input refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.container import Service
from service.platform import DemoWallet
from service.recharges import RechargeDriver
from tests.support.http import bearer, client_for, key, service_for

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
BOB = bearer("bob")
ADMIN = bearer("root", "admin")


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """The embedded default (SQLite, in-process dispatch): the demo wallet, without the pipeline."""
    return service_for("sqlite", tmp_path, with_pipeline=False)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service."""
    with client_for(service) as client:
        yield client


def drive(service: Service) -> int:
    """What the sweeper does each turn: drive the open recharges; how many ended."""
    assert service.platform is not None
    return RechargeDriver(service.ledger, service.platform, attempts=3, retry=timedelta(0),
                          clock=service.clock).drive()


def test_a_learner_recharges_from_the_demo_wallet_and_gets_the_credits_once(client: TestClient,
                                                                            service: Service) -> None:
    terms = client.get("/v1/wallet/recharge", headers=ALICE).json()
    assert terms["available"] and terms["demo"] and terms["balance_minor"] == 50_000 and terms["step_minor"] == 10
    headers = {**ALICE, **key()}
    asked = client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"}, headers=headers)
    assert asked.status_code == 202, asked.text
    assert (asked.json()["status"], asked.json()["credits"]) == ("requested", 50)
    again = client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"}, headers=headers)
    assert again.json()["recharge_id"] == asked.json()["recharge_id"]
    assert drive(service) == 1 and drive(service) == 0
    found = client.get(f"/v1/wallet/recharges/{asked.json()['recharge_id']}", headers=ALICE).json()
    assert found["status"] == "confirmed"
    wallet = service.ledger.wallet("alice")
    assert wallet is not None and wallet.available(service.clock()) == 50
    assert client.get("/v1/wallet/recharge", headers=ALICE).json()["balance_minor"] == 49_500


def test_another_learners_recharge_is_not_found(client: TestClient) -> None:
    asked = client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"},
                        headers={**ALICE, **key()})
    response = client.get(f"/v1/wallet/recharges/{asked.json()['recharge_id']}", headers=BOB)
    assert response.status_code == 404 and response.json()["type"].endswith(":unknown-reference")


@pytest.mark.parametrize(("body", "field"), [
    ({"amount_minor": 0, "currency": "INR"}, "body.amount_minor"),
    ({"amount_minor": 10**15, "currency": "INR"}, "body.amount_minor"),
    ({"amount_minor": 505, "currency": "INR"}, "amount_minor"),
    ({"amount_minor": 5, "currency": "INR"}, "amount_minor"),
    ({"amount_minor": 500, "currency": "inr"}, "body.currency"),
    ({"amount_minor": 500, "currency": "USD"}, "currency"),
    ({"amount_minor": "500", "currency": "INR", "tip": 1}, "body.tip"),
    ({"amount_minor": 5.5, "currency": "INR"}, "body.amount_minor"),
])
def test_a_recharge_out_of_bounds_is_refused_naming_the_field(client: TestClient, body: dict[str, Any],
                                                              field: str) -> None:
    response = client.post("/v1/wallet/recharges", json=body, headers={**ALICE, **key()})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_frozen_wallet_cannot_recharge(client: TestClient) -> None:
    assert client.post("/v1/admin/wallets/alice/freeze", json={"reason": "chargeback 4521"},
                       headers={**ADMIN, **key()}).status_code == 201
    response = client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"},
                           headers={**ALICE, **key()})
    assert response.status_code == 403 and response.json()["reason"] == "chargeback 4521"


def test_recharges_are_refused_where_no_platform_is_configured(client: TestClient, service: Service) -> None:
    service.platform = None
    response = client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"},
                           headers={**ALICE, **key()})
    assert response.status_code == 503 and response.json()["type"].endswith(":recharges-unavailable")
    assert client.get("/v1/wallet/recharge", headers=ALICE).json()["available"] is False


def test_a_burst_of_recharges_takes_no_more_than_the_balance_and_grants_what_it_took(
        client: TestClient, service: Service) -> None:
    service.platform = DemoWallet(start_minor=2_000, currency="INR")
    same = {**ALICE, **key()}

    def ask(n: int) -> Any:
        headers = same if n < 4 else {**ALICE, **key()}  # four at once under one key: one recharge
        return client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"}, headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(10)))
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    ids = {a.json()["recharge_id"] for a in answers}
    assert len(ids) == 7
    drive(service)
    statuses = sorted(client.get(f"/v1/wallet/recharges/{i}", headers=ALICE).json()["status"] for i in ids)
    assert statuses == ["confirmed"] * 4 + ["declined"] * 3
    wallet = service.ledger.wallet("alice")
    assert wallet is not None and wallet.available(service.clock()) == 200
    assert service.platform.balance("alice").balance_minor == 0


def test_auto_top_up_is_set_shown_and_turned_off_with_the_settings(client: TestClient) -> None:
    plan = {"pack_id": "starter", "below": 20, "monthly_cap_minor": 1800}
    put = client.put("/v1/wallet/settings", json={"daily_spend_cap": None, "auto_top_up": plan}, headers=ALICE)
    assert put.status_code == 200, put.text
    assert put.json()["auto_top_up"] == {**plan, "paused": None}
    off = client.put("/v1/wallet/settings", json={"daily_spend_cap": None}, headers=ALICE)
    assert off.json()["auto_top_up"] is None


@pytest.mark.parametrize(("plan", "field"), [
    ({"pack_id": "gold", "below": 20, "monthly_cap_minor": 1800}, "auto_top_up.pack_id"),
    ({"pack_id": "starter", "below": 20, "monthly_cap_minor": 100}, "auto_top_up.monthly_cap_minor"),
    ({"pack_id": "starter", "below": 0, "monthly_cap_minor": 1800}, "body.auto_top_up.below"),
    ({"pack_id": "Starter ", "below": 20, "monthly_cap_minor": 1800}, "body.auto_top_up.pack_id"),
    ({"pack_id": "starter", "below": 20, "monthly_cap_minor": 10**15}, "body.auto_top_up.monthly_cap_minor"),
    ({"pack_id": "starter", "below": 20}, "body.auto_top_up.monthly_cap_minor"),
])
def test_an_auto_top_up_out_of_bounds_is_refused_naming_the_field(client: TestClient, plan: dict[str, Any],
                                                                  field: str) -> None:
    response = client.put("/v1/wallet/settings", json={"daily_spend_cap": None, "auto_top_up": plan}, headers=ALICE)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert client.get("/v1/wallet/settings", headers=ALICE).json()["auto_top_up"] is None


def test_auto_top_up_is_refused_where_no_platform_is_configured(client: TestClient, service: Service) -> None:
    service.platform = None
    plan = {"pack_id": "starter", "below": 20, "monthly_cap_minor": 1800}
    response = client.put("/v1/wallet/settings", json={"daily_spend_cap": None, "auto_top_up": plan}, headers=ALICE)
    assert response.status_code == 503 and response.json()["type"].endswith(":recharges-unavailable")
