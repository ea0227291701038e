"""Alerts that fire once: however many generations race across the threshold, one `low-balance`; one
`recovered` when credits are back; none told twice when the projector restarts or rebuilds from the log."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from projections import Projector, all_projections
from projections.alerts import WalletAlerts, wallet_alerts
from service.alert_delivery import ExpiryWatch
from service.container import Service
from service.platform import DemoWallet
from service.recharges import RechargeDriver
from tests.support.http import bearer, client_for, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A service without the image pipeline, on each store, ten of a learner's requests at once."""
    pg_env = request.getfixturevalue("pg_env") if request.param == "postgres" else None
    return service_for(request.param, tmp_path, pg_env, with_pipeline=False, learner_generations=10)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service."""
    with client_for(service) as client:
        yield client


def buy(client: TestClient, pack: str = "starter") -> int:
    """alice buys a pack; the position."""
    body, headers = signed(purchase(pack, "alice"))
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["position"])


def alerts(client: TestClient, position: int = 0) -> list[dict[str, Any]]:
    """alice's alerts, oldest first, once the projections reach ``position``."""
    query = f"?limit=200&min_position={position}" if position else "?limit=200"
    response = client.get(f"/v1/wallet/alerts{query}", headers=ALICE)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def test_a_burst_across_the_threshold_alerts_once_and_credits_back_say_recovered(
        client: TestClient, service: Service) -> None:
    cost = service.catalog.get(POSTER["template_id"]).cost
    buy(client)  # 100 credits
    put = client.put("/v1/wallet/settings", json={"daily_spend_cap": None, "low_balance_below": 100 - 5 * cost},
                     headers=ALICE)
    assert put.status_code == 200 and put.json()["low_balance_below"] == 100 - 5 * cost
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()}),
                                range(12)))
    assert [a.status_code for a in answers] == [202] * 12
    position = max(a.json()["position"] for a in answers)
    told = alerts(client, position)
    assert [a["kind"] for a in told] == ["low-balance"]
    assert told[0]["details"] == {"available": 100 - 6 * cost, "threshold": 100 - 5 * cost}
    position = buy(client)
    assert [a["kind"] for a in alerts(client, position)] == ["low-balance", "recovered"]


def test_alerts_are_not_told_again_when_the_projection_is_rebuilt_or_restarted(
        client: TestClient, service: Service) -> None:
    buy(client)
    client.put("/v1/wallet/settings", json={"daily_spend_cap": None, "low_balance_below": 99}, headers=ALICE)
    last = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()}).json()["position"]
    before = alerts(client, last)
    assert [a["kind"] for a in before] == ["low-balance"]
    service.stop_projector()
    again = Projector(service.ledger, service.engine, all_projections())  # a restart from the tracked position
    again.setup()
    again.catch_up()
    rebuilt = Projector(service.ledger, service.engine, [WalletAlerts()])
    rebuilt.setup()
    rebuilt.rebuild()  # emptied and folded again from the whole log
    with service.engine.connect() as conn:
        rows = conn.execute(select(wallet_alerts.c.alert_id)).scalars().all()
    assert rows == [before[0]["alert_id"]]


def test_a_declined_recharge_is_told_with_its_reason(client: TestClient, service: Service) -> None:
    service.platform = DemoWallet(start_minor=100, currency="INR")  # on every store, a wallet that declines
    asked = client.post("/v1/wallet/recharges", json={"amount_minor": 500, "currency": "INR"},
                        headers={**ALICE, **key()})
    assert asked.status_code == 202, asked.text
    RechargeDriver(service.ledger, service.platform, attempts=3, retry=timedelta(0), clock=service.clock).drive()
    head = service.ledger.recorder.max_notification_id() or 0
    told = alerts(client, head)
    assert [a["kind"] for a in told] == ["recharge-declined"]
    assert told[0]["details"]["reason"].startswith("insufficient demo balance")


def test_a_lot_about_to_lapse_is_told_once(client: TestClient, service: Service) -> None:
    expires = (service.clock() + timedelta(days=2)).isoformat()
    granted = client.post("/v1/admin/wallets/alice/grants", headers={**bearer("root", "admin"), **key()},
                          json={"amount": 30, "reason": "launch week", "expires_at": expires})
    assert granted.status_code == 201, granted.text
    alerts(client, granted.json()["position"])  # the projections have the lot
    watch = ExpiryWatch(service.engine, within=timedelta(days=service.policy.alerts.expiring_within_days))
    assert watch.tell(service.clock() - timedelta(days=2)) == 0  # four days ahead: not yet
    assert watch.tell(service.clock()) == 1
    assert watch.tell(service.clock() + timedelta(hours=1)) == 0  # told: never again
    told = [a for a in alerts(client) if a["kind"] == "credits-expiring"]
    assert len(told) == 1 and told[0]["details"]["credits"] == 30
