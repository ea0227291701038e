"""Operators manage templates through the API: a template with English and Hindi words is drafted,
previewed, published, generated from and shown in the gallery, then edited and published again (the first
image keeps version 1, a projections rebuild too), then retired (gone from the studio, its image kept).
The roles, the idempotency keys and every refusal are checked on the way."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from media.templates import CATALOG_DIR, template_fields
from media.tomlfile import read_toml
from service.bootstrap import build_service
from service.container import Service
from service.settings import Settings
from tests.support.http import (
    api_settings,
    bearer,
    key,
    media_settings,
    purchase,
    signed,
    store_settings,
)

pytestmark = pytest.mark.e2e
OPS = bearer("asha", "templates")
ADMIN = bearer("ravi", "admin")
LEARNER = bearer("alice")
WEBINAR = template_fields(read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError))
DIWALI: dict[str, Any] = {
    **WEBINAR, "id": "diwali-offer", "title": "Diwali offer", "description": "A festive offer poster.",
    "translations": {"hi": {"title": "दिवाली ऑफ़र", "description": "त्योहार के ऑफ़र का पोस्टर।",
                            "labels": {"topic": "ऑफ़र", "time": "कब तक", "style": "शैली"}}}}


@pytest.fixture
def service(tmp_path: Path) -> Service:
    settings = Settings(api=api_settings(), store=store_settings("sqlite", tmp_path),
                        media=media_settings(tmp_path, template_refresh_s=0.05))
    return build_service(settings)


def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "not within the time allowed"
        time.sleep(0.05)


def put(client: TestClient, fields: dict[str, Any], who: dict[str, str] = OPS, reason: str = "new poster") -> Any:
    return client.put(f"/v1/admin/templates/{fields['id']}?reason={reason}", json=fields, headers={**who, **key()})


def publish(client: TestClient, template_id: str, **body: Any) -> Any:
    return client.post(f"/v1/admin/templates/{template_id}/publish", json={"reason": "approved", **body},
                       headers={**OPS, **key()})


def studio_ids(client: TestClient) -> set[str]:
    return {t["id"] for t in client.get("/v1/templates").json()}


def generate(client: TestClient) -> str:
    answer = client.post("/v1/generations", headers={**LEARNER, **key()}, json={
        "template_id": "diwali-offer", "variables": {"topic": "Flat 40% off", "time": "till Sunday"}})
    assert answer.status_code == 202, answer.text
    generation_id: str = answer.json()["generation_id"]
    eventually(lambda: client.get(f"/v1/generations/{generation_id}", headers=LEARNER).json()["status"]
               == "completed")
    return generation_id


def buy_for(client: TestClient, user: str) -> None:
    body, headers = signed(purchase("starter", user))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200


def gallery(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/gallery", headers=LEARNER).json()["items"]
    return items


def test_a_template_is_drafted_previewed_published_used_edited_and_retired(client: TestClient,
                                                                            service: Service) -> None:
    assert put(client, DIWALI).json()["changed"] is True
    assert "diwali-offer" not in studio_ids(client)  # a draft is for operators only
    png = client.get("/v1/admin/templates/diwali-offer/preview.png?style=isometric&lang=hi", headers=OPS)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size[0] > 0
    first = publish(client, "diwali-offer")
    assert (first.status_code, first.json()["version"]) == (200, 1)
    eventually(lambda: "diwali-offer" in studio_ids(client))
    buy_for(client, "alice")
    made = generate(client)
    [card] = gallery(client)
    assert (card["generation_id"], card["template_version"], card["template_title"]) == (made, 1, "Diwali offer")

    assert put(client, {**DIWALI, "title": "Diwali mega offer", "cost": 6}, reason="new title").status_code == 200
    assert publish(client, "diwali-offer").json()["version"] == 2
    eventually(lambda: client.get("/v1/templates/diwali-offer").json()["title"] == "Diwali mega offer")
    service.stop_projector()  # from here this test projects itself: a rebuild first
    service.projector.rebuild()
    [card] = gallery(client)
    assert (card["template_version"], card["template_title"], card["template_titles"]) == (
        1, "Diwali offer", {"hi": "दिवाली ऑफ़र"})
    lines = client.get("/v1/wallet/statement", headers=LEARNER).json()["items"]
    assert "Diwali offer: Flat 40% off (charged)" in {line["description"] for line in lines}

    def named() -> dict[int, dict[str, str]]:  # the titles come from the catalog, which rereads the rebuilt
        lines = client.get("/v1/wallet/statement", headers=LEARNER).json()["items"]  # projection on its own
        return {line["generation"]["template_version"]: line["generation"]["template_titles"]
                for line in lines if line["generation"]}

    eventually(lambda: named() == {1: {"en": "Diwali offer", "hi": "दिवाली ऑफ़र"}})

    share = client.post(f"/v1/generations/{made}/share", headers={**LEARNER, **key()}).json()
    retired = client.post("/v1/admin/templates/diwali-offer/retire", json={"reason": "festival over"},
                          headers={**OPS, **key()})
    assert retired.json()["changed"] is True
    service.projector.catch_up()
    eventually(lambda: "diwali-offer" not in studio_ids(client))
    assert client.get("/v1/templates/diwali-offer").status_code == 404
    assert [c["generation_id"] for c in gallery(client)] == [made]
    page = client.get(share["share_url"].removeprefix("http://testserver"))
    assert page.status_code == 200 and "Diwali offer" in page.text
    listed = {t["template_id"]: t for t in client.get("/v1/admin/templates", headers=OPS).json()}
    assert (listed["diwali-offer"]["status"], listed["diwali-offer"]["latest_version"]) == ("retired", 2)
    assert listed["diwali-offer"]["credits_spent"] == 5 and listed["diwali-offer"]["current_version"] is None


def test_the_templates_role_manages_templates_only_and_learners_neither(client: TestClient) -> None:
    assert client.get("/v1/admin/wallets/alice", headers=OPS).status_code == 403
    grant = client.post("/v1/admin/wallets/alice/grants", json={"amount": 5, "reason": "x"},
                        headers={**OPS, **key()})
    assert grant.status_code == 403
    assert client.get("/v1/admin/templates", headers=LEARNER).status_code == 403
    assert put(client, DIWALI, who=LEARNER).status_code == 403
    assert client.get("/v1/admin/templates").status_code == 401
    assert put(client, DIWALI, who=ADMIN).status_code == 200  # admin keeps money and may manage templates


def test_a_repeated_write_with_its_key_is_answered_once(client: TestClient) -> None:
    headers = {**OPS, **key()}
    first = client.put("/v1/admin/templates/diwali-offer?reason=new", json=DIWALI, headers=headers)
    again = client.put("/v1/admin/templates/diwali-offer?reason=new", json=DIWALI, headers=headers)
    assert first.json() == again.json() and first.json()["changed"] is True
    other = client.put("/v1/admin/templates/diwali-offer?reason=new", json={**DIWALI, "cost": 9}, headers=headers)
    assert other.status_code == 409
    assert client.put("/v1/admin/templates/diwali-offer", json=DIWALI, headers=OPS).status_code == 422  # no key


def refusal(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json().get("field", "")


@pytest.mark.parametrize(("change", "field"), [
    ({"prompt": "A poster about {offer}"}, "prompt"),
    ({"cost": 0}, "cost"),
    ({"id": "another-id"}, "id"),
    ({"layout": {**WEBINAR["layout"], "slots": [{**WEBINAR["layout"]["slots"][1], "text": "{venue}"}]}},
     "layout.slots.0.text"),
])
def test_a_draft_that_is_no_template_is_refused_naming_its_field(client: TestClient, change: dict[str, Any],
                                                                  field: str) -> None:
    answer = client.put("/v1/admin/templates/diwali-offer?reason=r", json={**DIWALI, **change},
                        headers={**OPS, **key()})
    assert refusal(answer) == (422, field), answer.text
    assert answer.json()["type"].endswith(":invalid-template")


def kicker(text: str, hindi: str | None = None) -> dict[str, Any]:
    slots = [dict(s) for s in WEBINAR["layout"]["slots"]]
    slots[0] = {**slots[0], "text": text, **({"translations": {"hi": hindi}} if hindi else {})}
    return {"layout": {**WEBINAR["layout"], "slots": slots}}


@pytest.mark.parametrize(("change", "field"), [
    ({"variables": [*WEBINAR["variables"], {"name": "venue", "label": "Venue"}]}, "variables.3.name"),
    (kicker("Live webinar", "लाइव 中 वेबिनार"), "layout.slots.0.translations.hi"),
    (kicker("An extraordinarily long festive kicker that cannot fit on one line"), "layout.slots.0.text"),
    ({"cost": 900}, "cost"),
])
def test_a_draft_a_learner_would_trip_on_is_not_published_and_the_refusal_names_its_field(
        client: TestClient, service: Service, change: dict[str, Any], field: str) -> None:
    service.policy = service.policy.model_copy(update={"max_template_cost": 100})
    assert put(client, {**DIWALI, **change}).status_code == 200
    answer = publish(client, "diwali-offer")
    assert refusal(answer) == (422, field), answer.text
    assert "diwali-offer" not in {t["template_id"] for t in client.get("/v1/admin/templates", headers=OPS).json()
                                  if t["latest_version"]}


def test_a_template_whose_provider_is_not_configured_is_not_published(client: TestClient, service: Service) -> None:
    service.media = service.media.model_copy(update={"image_provider": "template", "template_providers": ("local",)})
    assert put(client, {**DIWALI, "model": {"provider": "openai", "model_id": "gpt-image-1"}}).status_code == 200
    assert refusal(publish(client, "diwali-offer")) == (422, "model.provider")
    with_alternative = {"provider": "openai", "model_id": "gpt-image-1", "alternatives": {"local": "procedural"}}
    assert put(client, {**DIWALI, "model": with_alternative}).status_code == 200
    assert publish(client, "diwali-offer").status_code == 200


def test_publishing_nothing_or_in_the_past_or_an_unknown_template_is_refused(client: TestClient) -> None:
    assert publish(client, "nope").status_code == 404
    assert put(client, DIWALI).status_code == 200
    past = publish(client, "diwali-offer", effective_at="2001-01-01T00:00:00Z")
    assert past.status_code == 422 and "in the past" in past.json()["detail"]
    assert publish(client, "diwali-offer").status_code == 200
    assert publish(client, "diwali-offer").status_code == 409  # no draft left
    assert client.get("/v1/admin/templates/diwali-offer/preview.png?style=cubist", headers=OPS).json()["field"] \
        == "style"
