"""Moderation at the edge: refused words answer 422 naming the field and the kind of words, hold nothing and
are counted under the rule that fired; a moderation provider that does not answer holds nothing either."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from fastapi.testclient import TestClient

from media.moderation import Flag, ModerationUnavailable
from service.container import Service
from tests.support.http import bearer, key

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("starter_pack")]
ALICE = bearer("alice")


def poster(course: str) -> dict[str, object]:
    return {"template_id": "poster-course-launch", "variables": {"course": course, "date": "1 March"}}


@pytest.mark.parametrize(("course", "rule"), [
    ("F u c k this course", "local:en:profanity"),
    ("चूतिया कोर्स", "local:hi:profanity"),
    ("bhenchod course", "local:hi-latn:profanity"),
])
def test_refused_words_are_a_422_naming_the_field_with_no_credit_held_and_counted_by_rule(
        client: TestClient, course: str, rule: str) -> None:
    answer = client.post("/v1/generations", json=poster(course), headers={**ALICE, **key()})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == "urn:studio-ledger:problem:text-refused" and problem["field"] == "course"
    assert (problem["code"], problem["category"]) == ("text-refused", "profanity")
    assert problem["detail"].startswith("course: has swear words") and course not in problem["detail"]
    wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert (wallet["available"], wallet["held"]) == (100, 0)
    assert client.get("/v1/gallery", headers=ALICE).json()["items"] == []
    metrics = client.get("/metrics").text
    assert f'studio_moderation_refusals_total{{category="profanity",rule="{rule}"}} 1.0' in metrics


def test_ordinary_words_are_accepted_and_held(client: TestClient) -> None:
    answer = client.post("/v1/generations", json=poster("Class assignment help"), headers={**ALICE, **key()})
    assert answer.status_code == 202, answer.text


class Down:
    """A moderation provider that does not answer."""

    name = "down"

    async def check(self, texts: Mapping[str, str]) -> Flag | None:
        raise ModerationUnavailable("openai moderation answered 503")

    async def aclose(self) -> None:
        return None


def test_a_provider_that_does_not_answer_is_a_503_to_retry_with_nothing_held(service: Service,
                                                                             client: TestClient) -> None:
    service.moderator = Down()
    answer = client.post("/v1/generations", json=poster("SQL"), headers={**ALICE, **key()})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["type"] == "urn:studio-ledger:problem:moderation-unavailable"
    assert client.get("/v1/wallet", headers=ALICE).json()["held"] == 0
