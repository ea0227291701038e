"""The HTTP edges apply the one rule for a user id: a bad one is a problem naming the field, never a wallet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from service.container import Service
from tests.support.http import SECRET, bearer, client_for, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
OPS = bearer("ops", "admin")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A client of a service on SQLite without the pipeline."""
    service: Service = service_for("sqlite", tmp_path, with_pipeline=False)
    with client_for(service) as client:
        yield client


def test_a_webhook_purchase_for_a_user_id_with_a_trailing_space_is_a_422_naming_the_field(client: TestClient) -> None:
    body, headers = signed(purchase(user="alice "))
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith(":invalid-message") and problem["field"] == "CreditPackPurchased.user_id"
    assert problem["errors"][0]["message"] == "Value error, user_id must not begin or end with whitespace"


def test_a_token_whose_sub_has_an_invisible_character_is_a_401_saying_why(client: TestClient) -> None:
    token = jwt.encode({"sub": "al\u200bice", "iss": "studio-ledger", "aud": "studio-ledger",
                        "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
    response = client.get("/v1/wallet", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == ("the token's sub must not contain an invisible format character "
                                         "(U+200B at character 3)")


@pytest.mark.parametrize("path", ["/v1/admin/wallets/alice%20/grants", "/v1/admin/wallets/al%E2%80%8Bice/grants"])
def test_an_admin_grant_to_a_user_id_that_breaks_the_rule_is_a_422_naming_it(client: TestClient, path: str) -> None:
    response = client.post(path, json={"amount": 5, "reason": "welcome"}, headers={**OPS, **key()})
    assert response.status_code == 422, response.text
    assert "user_id must not" in response.text and '"path.user_id"' in response.text.replace("'", '"')
    assert client.get("/v1/admin/wallets/alice%20", headers=OPS).status_code == 422
