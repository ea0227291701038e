"""The console's live preview: fields not saved yet are rendered by the compositor with the checks a draft
gets, nothing is recorded, and the preview routes are bounded by the body limit and per operator."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from contextlib import ExitStack
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
from tests.support.http import api_settings, bearer, client_for, key, media_settings, store_settings

pytestmark = pytest.mark.e2e
OPS = bearer("asha", "templates")
WEBINAR = template_fields(read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError))
UNSAVED: dict[str, Any] = {**WEBINAR, "id": "diwali-offer", "title": "Diwali offer"}
PREVIEW = "/v1/admin/templates/diwali-offer/preview.png"


@pytest.fixture
def service(tmp_path: Path) -> Service:
    settings = Settings(api=api_settings(operator_previews=1, max_body_bytes=16 * 1024),
                        store=store_settings("sqlite", tmp_path), media=media_settings(tmp_path))
    return build_service(settings)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with client_for(service) as client:
        yield client


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def with_hindi_kicker(text: str) -> dict[str, Any]:
    fields = copy.deepcopy(UNSAVED)
    fields["layout"]["slots"][0]["translations"]["hi"] = text
    return fields


def test_fields_not_saved_are_previewed_in_a_style_and_language_and_nothing_is_recorded(client: TestClient) -> None:
    first = client.post(f"{PREVIEW}?style=isometric&lang=hi", json=UNSAVED, headers=OPS)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/png"
    assert first.headers["cache-control"] == "no-store"
    changed = client.post(f"{PREVIEW}?style=isometric&lang=hi", json=with_hindi_kicker("दिवाली लाइव"), headers=OPS)
    assert changed.status_code == 200, changed.text
    assert pixels(changed.content) != pixels(first.content)  # the edited words, before any save
    assert client.get("/v1/admin/templates/diwali-offer", headers=OPS).status_code == 404


def test_a_preview_of_fields_that_are_no_template_names_each_field(client: TestClient) -> None:
    fields = copy.deepcopy(UNSAVED)
    fields["variables"][1]["max_length"] = 0
    fields["translations"]["hi"]["labels"]["speaker"] = "वक्ता"
    answer = client.post(PREVIEW, json=fields, headers=OPS)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    named = {e["field"] for e in answer.json()["errors"]}
    assert "variables.1.max_length" in named
    unknown = client.post(PREVIEW, json={**UNSAVED, "variables": UNSAVED["variables"][:2]}, headers=OPS)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"].startswith(("layout", "translations", "prompt"))
    assert client.post(f"{PREVIEW}?style=cubist", json=UNSAVED, headers=OPS).json()["field"] == "style"
    assert client.post(PREVIEW, json=UNSAVED, headers=bearer("alice")).status_code == 403


def test_a_preview_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    answer = client.post(PREVIEW, json={**UNSAVED, "description": "x" * 20_000}, headers=OPS)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"


def test_an_operator_with_as_many_previews_rendering_as_allowed_is_told_to_wait(client: TestClient,
                                                                               service: Service) -> None:
    assert client.put("/v1/admin/templates/diwali-offer?reason=new", json=UNSAVED,
                      headers={**OPS, **key()}).status_code == 200
    with ExitStack() as held:
        held.enter_context(service.limits.previews.slot("asha"))  # one preview of asha's still rendering
        for answer in (client.post(PREVIEW, json=UNSAVED, headers=OPS), client.get(PREVIEW, headers=OPS)):
            assert answer.status_code == 429, answer.text
            assert answer.headers["retry-after"] == "1"
        other = client.post(PREVIEW, json=UNSAVED, headers=bearer("ravi", "admin"))
        assert other.status_code == 200  # another operator is not held up
    assert client.post(PREVIEW, json=UNSAVED, headers=OPS).status_code == 200


def test_publishing_draws_every_style_and_language_so_it_takes_one_of_the_operators_preview_slots(
        client: TestClient, service: Service) -> None:
    assert client.put("/v1/admin/templates/diwali-offer?reason=new", json=UNSAVED,
                      headers={**OPS, **key()}).status_code == 200
    publish = {"json": {"reason": "approved"}, "headers": {**OPS, **key()}}
    with service.limits.previews.slot("asha"):
        busy = client.post("/v1/admin/templates/diwali-offer/publish", **publish)
        assert busy.status_code == 429, busy.text
        stored = service.ledger.template("diwali-offer")
        assert stored is not None and not stored.versions  # nothing published
    done = client.post("/v1/admin/templates/diwali-offer/publish", **publish)  # the same key, now answered
    assert done.status_code == 200, done.text
    assert done.json()["version"] == 1
