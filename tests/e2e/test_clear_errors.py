"""Bad input over HTTP is one clear problem that names the field, never a 500 or a library's own words."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.settings.api import ApiSettings, UnsafeSettings, check_secrets
from tests.support.http import bearer, key

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")


def problem(response: object, status: int) -> dict[str, object]:
    """The problem body of ``response``, after checking its status and media type."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    return body


def test_a_promo_expiry_without_a_time_zone_is_a_422_naming_expires_at(client: TestClient) -> None:
    response = client.post("/v1/admin/wallets/bob/grants", headers={**ADMIN, **key()},
                           json={"amount": 10, "reason": "launch", "expires_at": "2030-01-01T00:00:00"})
    found = problem(response, 422)
    assert found["field"] == "body.expires_at"
    assert "timezone" in str(found["detail"])
    assert "offset-naive" not in response.text


def test_an_unknown_template_is_named_in_whole_quotes(client: TestClient) -> None:
    response = client.post("/v1/generations", headers={**ALICE, **key()}, json={"template_id": "nope"})
    found = problem(response, 404)
    assert found["detail"] == "no template 'nope'"
    assert found["field"] == "template_id"


def test_a_missing_photo_names_the_input_image_url_field(client: TestClient) -> None:
    response = client.post("/v1/generations", headers={**ALICE, **key()},
                           json={"template_id": "profile-avatar", "variables": {}})
    found = problem(response, 422)
    assert found["field"] == "input_image_url"
    assert str(found["detail"]).startswith("input_image_url: ")


@pytest.mark.parametrize("route", ["/v1/generations", "/v1/admin/wallets/bob/grants"])
def test_a_body_that_is_not_json_names_the_body_and_says_where_it_breaks(client: TestClient, route: str) -> None:
    response = client.post(route, headers={**ADMIN, **key(), "Content-Type": "application/json"},
                           content=b'{"template_id": oops}')
    found = problem(response, 422)
    assert found["field"] == "body"
    assert "not valid JSON" in str(found["detail"]) and "at character 16" in str(found["detail"])
    assert "body.16" not in response.text


@pytest.mark.parametrize("token", ["_w.e30.c2ln", "////.e30.c2ln", "garbage", "a.b.c"])
def test_a_garbage_bearer_token_is_a_401_in_our_words(client: TestClient, token: str) -> None:
    response = client.get("/v1/wallet", headers={"Authorization": f"Bearer {token}"})
    found = problem(response, 401)
    assert "codec" not in response.text and "utf-8" not in response.text
    assert str(found["detail"]).startswith("the token is not")


def test_the_webhook_secret_must_have_32_characters_outside_the_embedded_default() -> None:
    api = ApiSettings(jwt_secret=SecretStr("j" * 40), webhook_secret=SecretStr("abc"))
    with pytest.raises(UnsafeSettings, match="STUDIO_WEBHOOK_SECRET must be at least 32 characters"):
        check_secrets(api, embedded=False)
    check_secrets(api, embedded=True)  # the embedded default signs with its own known secret anyway
    check_secrets(ApiSettings(jwt_secret=SecretStr("j" * 40), webhook_secret=SecretStr("w" * 32)), embedded=False)

