"""Per-learner limits: a learner with as many generations, uploads or photo fetches in flight as allowed gets
a 429 with Retry-After for one more, while other learners go on; slots are given back whatever the answer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.bootstrap import build_service
from service.container import Service
from service.limits import PerLearner
from service.settings import Settings
from tests.support.http import (
    api_settings,
    bearer,
    client_for,
    key,
    media_settings,
    purchase,
    signed,
    store_settings,
)
from tests.support.startup import refused

pytestmark = pytest.mark.e2e
ALICE, BOB = bearer("alice"), bearer("bob")
PHOTO_URL = {"template_id": "profile-avatar", "variables": {"expression": "smiling"},
             "input_image_url": "https://10.0.0.1/me.png"}


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A service on SQLite without the pipeline: two generations, one upload and one fetch per learner at once."""
    return build_service(Settings(api=api_settings(learner_generations=2, learner_uploads=1, learner_fetches=1),
                                  store=store_settings("sqlite", tmp_path), media=media_settings(tmp_path)),
                         with_pipeline=False)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with client_for(service) as client:
        for user in ("alice", "bob"):
            body, headers = signed(purchase("starter", user))
            assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        yield client


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, format="JPEG")
    return out.getvalue()


def busy(answer: Any, limit: int) -> None:
    assert answer.status_code == 429, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:studio-ledger:problem:too-many-requests" and problem["limit"] == limit
    assert answer.headers["Retry-After"] == "1" and "in progress, the most at once" in problem["detail"]


def test_a_learner_at_their_limit_of_generations_gets_a_429_and_others_go_on(client: TestClient,
                                                                             service: Service) -> None:
    poster = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}
    with service.limits.generations.slot("alice"), service.limits.generations.slot("alice"):
        busy(client.post("/v1/generations", json=poster, headers={**ALICE, **key()}), 2)
        assert client.post("/v1/generations", json=poster, headers={**BOB, **key()}).status_code == 202
    assert client.post("/v1/generations", json=poster, headers={**ALICE, **key()}).status_code == 202
    assert service.limits.generations.held("alice") == service.limits.generations.held("bob") == 0


def test_a_learner_at_their_limit_of_uploads_gets_a_429_and_others_go_on(client: TestClient,
                                                                         service: Service) -> None:
    def upload(headers: dict[str, str]) -> Any:
        return client.post("/v1/uploads", files={"file": ("me.jpg", jpeg(), "image/jpeg")},
                           headers={**headers, **key()})

    with service.limits.uploads.slot("alice"):
        busy(upload(ALICE), 1)
        assert upload(BOB).status_code == 201
    assert upload(ALICE).status_code == 201
    bad = client.post("/v1/uploads", files={"file": ("x.jpg", b"not a photo", "image/jpeg")},
                      headers={**ALICE, **key()})
    assert bad.status_code == 422 and service.limits.uploads.held("alice") == 0  # given back on a refusal too


def test_a_learner_fetching_a_photo_already_gets_a_429_for_another_url(client: TestClient,
                                                                       service: Service) -> None:
    with service.limits.fetches.slot("alice"):
        busy(client.post("/v1/generations", json=PHOTO_URL, headers={**ALICE, **key()}), 1)
        refused_url = client.post("/v1/generations", json=PHOTO_URL, headers={**BOB, **key()})
        assert refused_url.status_code == 422 and refused_url.json()["field"] == "input_image_url"
    assert service.limits.fetches.held("alice") == service.limits.fetches.held("bob") == 0


def test_a_learner_without_credits_is_refused_before_their_photo_url_is_fetched(client: TestClient,
                                                                                 service: Service) -> None:
    with service.limits.fetches.slot("carol"):  # a fetch would be a 429: the 402 comes first
        answer = client.post("/v1/generations", json=PHOTO_URL, headers={**bearer("carol"), **key()})
    assert answer.status_code == 402, answer.text


def test_a_slot_is_given_back_when_the_block_raises() -> None:
    limit = PerLearner("uploads", 1)
    with pytest.raises(RuntimeError), limit.slot("alice"):
        raise RuntimeError("refused")
    with limit.slot("alice"):
        assert limit.held("alice") == 1


@pytest.mark.parametrize("name", ["STUDIO_LEARNER_GENERATIONS", "STUDIO_LEARNER_UPLOADS", "STUDIO_LEARNER_FETCHES",
                                  "STUDIO_DECODE_THREADS", "STUDIO_FETCH_THREADS", "STUDIO_STORE_THREADS",
                                  "STUDIO_COMMAND_THREADS"])
def test_a_limit_below_one_stops_the_service_in_one_line_naming_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> None:
    line = refused(monkeypatch, capsys, tmp_path, "serve", **{name: "0"})
    assert line.startswith(f"refusing to start: {name}:") and "greater than or equal to 1" in line
