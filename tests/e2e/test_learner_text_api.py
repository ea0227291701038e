"""Over HTTP: a character no font of the template can print is one 422 problem naming the field and the
character, answered before any credit is held; a post with emoji is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.http import bearer, client_for, key, service_for

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A SQLite service without the image pipeline; alice has 50 credits."""
    with client_for(service_for("sqlite", tmp_path, with_pipeline=False)) as client:
        granted = client.post("/v1/admin/wallets/alice/grants", headers={**ADMIN, **key()},
                              json={"amount": 50, "reason": "welcome"})
        assert granted.status_code in (200, 201), granted.text
        yield client


def test_an_unprintable_character_is_a_422_naming_field_and_character_and_nothing_is_held(client: TestClient) -> None:
    response = client.post("/v1/generations", headers={**ALICE, **key()},
                           json={"template_id": "social-story", "variables": {"offer": "Launch 中文 today"}})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:studio-ledger:problem:invalid-variable" and problem["field"] == "offer"
    assert problem["detail"] == "offer: 中 cannot be printed on this template (U+4E2D)"
    wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert (wallet["available"], wallet["held"]) == (50, 0)


def test_a_post_with_emoji_and_invisible_characters_is_accepted_with_the_emoji_kept(client: TestClient) -> None:
    offer = "\u202e🎉 Diwali offer 👩\u200d👩\u200d👧\u200b 30% off!"
    response = client.post("/v1/generations", headers={**ALICE, **key()},
                           json={"template_id": "social-story", "variables": {"offer": offer}})
    assert response.status_code == 202, response.text
    body = response.json()
    wallet = client.get(f"/v1/wallet?min_position={body['position']}", headers=ALICE).json()
    assert (wallet["available"], wallet["held"]) == (47, 3)
    line = client.get(f"/v1/wallet/statement?min_position={body['position']}", headers=ALICE).json()["items"][0]
    assert line["generation"]["text"] == "🎉 Diwali offer 👩\u200d👩\u200d👧 30% off!"


@pytest.mark.parametrize(("offer", "status"), [("Launch \\ud800 today", 202), ("Launch \\ue000 today", 422)])
def test_a_lone_surrogate_is_a_space_and_a_private_use_character_is_refused_by_name(
        client: TestClient, offer: str, status: int) -> None:
    body = '{"template_id": "social-story", "variables": {"offer": "' + offer + '"}}'  # JSON escapes, as sent
    response = client.post("/v1/generations", headers={**ALICE, **key(), "Content-Type": "application/json"},
                           content=body.encode())
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["detail"] == "offer: \ue000 cannot be printed on this template (U+E000)"


def test_a_problem_that_quotes_a_lone_surrogate_is_still_the_problem_not_a_500(client: TestClient) -> None:
    body = '{"template_id": "social-story", "variables": {"nope\\ud800": "x"}}'  # an unknown variable, quoted back
    response = client.post("/v1/generations", headers={**ALICE, **key(), "Content-Type": "application/json"},
                           content=body.encode())
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "nope\ufffd: is not a variable of template social-story"
