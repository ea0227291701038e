"""Edges that hold over HTTP: an amount past the limit or a partner's clock far off is a 422 naming the
field, and the service goes on answering everyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger import MAX_MINOR
from tests.support.http import bearer, key, purchase, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


def deliver(client: TestClient, message: dict[str, Any]) -> Any:
    """Post a signed payment message to the webhook."""
    body, headers = signed(message)
    return client.post("/v1/webhooks/payments", content=body, headers=headers)


def test_a_redemption_past_the_money_limit_is_a_422_and_reads_keep_following(client: TestClient) -> None:
    huge = {"type": "WalletBalanceRedeemed", "redemption_id": "red-huge", "user_id": "alice",
            "amount_minor": 10**20, "currency": "INR"}
    refused = deliver(client, huge)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["field"].endswith("amount_minor") and str(MAX_MINOR) in problem["errors"][0]["message"]
    bought = deliver(client, purchase())
    assert bought.status_code == 200
    wallet = client.get(f"/v1/wallet?min_position={bought.json()['position']}", headers=ALICE)
    assert wallet.status_code == 200 and wallet.json()["available"] == 100
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(("stamp", "code"), [
    ((datetime.now(UTC) + timedelta(hours=5, minutes=30)).isoformat(), "occurred-in-future"),
    ("2035-01-01T00:00:00Z", "occurred-in-future"),
    ("9999-12-31T23:59:59Z", "occurred-in-future"),
    ("2001-01-01T00:00:00Z", "occurred-too-long-ago"),
])
def test_a_purchase_stamped_far_from_the_service_clock_is_a_422_and_generations_go_on(
        client: TestClient, stamp: str, code: str) -> None:
    refused = deliver(client, {**purchase(), "occurred_at": stamp})
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith(f":{code}") and refused.json()["field"] == "occurred_at"
    assert deliver(client, {**purchase(), "occurred_at": datetime.now(UTC).isoformat()}).status_code == 200
    accepted = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()})
    assert accepted.status_code == 202, accepted.text


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-05:00", "2200-01-01T00:00:00Z"])
def test_an_admin_grant_expiring_past_the_longest_term_is_a_422_naming_expires_at(client: TestClient,
                                                                                   expires_at: str) -> None:
    admin = bearer("root", "admin")
    refused = client.post("/v1/admin/wallets/alice/grants", json={"amount": 5, "reason": "r", "expires_at": expires_at},
                          headers={**admin, **key()})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("expires_at") and "36500 days" in refused.text
    granted = client.post("/v1/admin/wallets/alice/grants", json={"amount": 5, "reason": "r"},
                          headers={**admin, **key()})
    read = client.get(f"/v1/admin/wallets/alice?min_position={granted.json()['position']}", headers=admin)
    assert read.status_code == 200 and read.json()["available"] == 5
    assert "projection_failures" not in client.get("/readyz").json()
