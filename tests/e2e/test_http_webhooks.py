"""The payment webhook: signed with HMAC-SHA256, replays refused or answered once, bad messages named."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.http.signatures import sign
from tests.support.http import bearer, purchase, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")


def available(client: TestClient, position: int) -> int:
    """Alice's available credits once the projections reach ``position``."""
    return int(client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()["available"])


def test_a_validly_signed_purchase_credits_the_pack(client: TestClient) -> None:
    body, headers = signed(purchase("creator"))
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["type"] == "CreditPackPurchased" and not response.json()["repeated"]
    assert available(client, response.json()["position"]) == 550


@pytest.mark.parametrize("header", [
    "t=1700000000", "v1=abc", "garbage", "", "t=now,v1=abc",
])
def test_a_missing_or_malformed_signature_is_a_401(client: TestClient, header: str) -> None:
    body, headers = signed(purchase())
    response = client.post("/v1/webhooks/payments", content=body, headers={**headers, "Studio-Signature": header})
    assert response.status_code == 401 and response.json()["type"].endswith(":invalid-signature")


def test_a_signature_with_another_secret_or_over_another_body_is_a_401(client: TestClient) -> None:
    body, headers = signed(purchase(), secret="not-the-webhook-secret-at-all")
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 401
    body, headers = signed(purchase())
    tampered = body.replace(b'"alice"', b'"mallory"')
    response = client.post("/v1/webhooks/payments", content=tampered, headers=headers)
    assert response.status_code == 401 and "does not match" in response.json()["detail"]


def test_a_replay_later_than_the_tolerance_is_refused(client: TestClient) -> None:
    body, headers = signed(purchase(), at=time.time() - 3600)
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 401 and "replay" in response.json()["detail"]
    assert client.get("/v1/wallet", headers=ALICE).json()["available"] == 0


def test_a_replay_within_the_tolerance_returns_the_first_answer_and_credits_once(client: TestClient) -> None:
    body, headers = signed(purchase(payment="pay-once"))
    first = client.post("/v1/webhooks/payments", content=body, headers=headers)
    replayed = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert first.status_code == replayed.status_code == 200
    assert first.json() == replayed.json()
    body2, headers2 = signed(purchase(payment="pay-once"))  # the same payment, a new delivery
    redelivered = client.post("/v1/webhooks/payments", content=body2, headers=headers2)
    assert redelivered.status_code == 200 and redelivered.json()["repeated"]
    assert available(client, redelivered.json()["position"]) == 100


def test_a_redemption_and_a_refund_arrive_the_same_way(client: TestClient) -> None:
    buy_body, buy_headers = signed(purchase(payment="pay-r"))
    client.post("/v1/webhooks/payments", content=buy_body, headers=buy_headers)
    redeem = {"type": "WalletBalanceRedeemed", "redemption_id": "red-1", "user_id": "alice",
              "amount_minor": 5000, "currency": "INR"}
    body, headers = signed(redeem)
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 200
    assert available(client, response.json()["position"]) == 100 + 500
    body, headers = signed({"type": "PaymentRefunded", "payment_id": "pay-r"})
    refunded = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert refunded.status_code == 200
    assert available(client, refunded.json()["position"]) == 500


@pytest.mark.parametrize(("message", "status", "field"), [
    ({"type": "CreditPackPurchased", "payment_id": "p", "user_id": "alice", "pack_id": "starter",
      "amount_minor": -1, "currency": "INR"}, 422, "CreditPackPurchased.amount_minor"),
    ({"type": "Nope"}, 422, "body"),
    ({"type": "CreditPackPurchased", "payment_id": "p", "user_id": "alice", "pack_id": "gold",
      "amount_minor": 100, "currency": "INR"}, 422, None),
    ({"type": "CreditPackPurchased", "payment_id": "p", "user_id": "alice", "pack_id": "starter",
      "amount_minor": 100, "currency": "INR"}, 422, None),
    ({"type": "PaymentRefunded", "payment_id": "never-paid"}, 404, None),
])
def test_a_message_that_cannot_apply_is_refused_with_its_reason(client: TestClient, message: dict[str, object],
                                                               status: int, field: str | None) -> None:
    body, headers = signed(message)
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == status, response.text
    if field is not None:
        assert response.json()["field"].startswith(field)


def test_a_body_that_is_not_json_is_a_422_not_a_500(client: TestClient) -> None:
    body = b"{not json"
    headers = {"Studio-Signature": sign("a-test-webhook-secret-long-enough", body, int(time.time())),
               "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 422
