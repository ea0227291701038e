"""What the studio page reads besides the ledger: deployment config, template previews, the next expiry."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.http.previews import PREVIEW_WIDTH, Previews, preview_request
from media.ports import SIZES, ImageRequest, ImageResult
from media.templates import load_catalog
from service.container import Service
from tests.support.http import bearer, buy, client_for, key, service_for

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of an embedded service with a checkout URL and two embedding origins."""
    service = service_for("sqlite", tmp_path_factory.mktemp("page"), with_pipeline=False,
                          checkout_url="https://learn.example.com/checkout?pack={pack_id}&user={user_id}",
                          embed_origins="https://learn.example.com,http://localhost:3000")
    with client_for(service) as client:
        yield client


def test_the_config_tells_the_page_the_deployment_checkout_url_origins_and_rate(client: TestClient) -> None:
    assert client.get("/v1/config").json() == {
        "embedded": False,  # its own secrets: no demo sign-in
        "checkout_url": "https://learn.example.com/checkout?pack={pack_id}&user={user_id}",
        "embed_origins": ["https://learn.example.com", "http://localhost:3000"],
        "redemption": {"currency": "INR", "credits_per_major_unit": 10, "minor_per_major": 100}}


def test_without_a_checkout_url_the_config_says_null(tmp_path: Path) -> None:
    with client_for(service_for("sqlite", tmp_path, with_pipeline=False)) as plain:
        config = plain.get("/v1/config").json()
    assert config["checkout_url"] is None and config["embed_origins"] == []


def test_the_platform_origins_may_call_the_api_from_the_browser_and_no_other(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    allowed = client.options("/v1/generations", headers={"Origin": "http://localhost:3000", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Idempotency-Key" in allowed.headers["Access-Control-Allow-Headers"]
    read = client.get("/v1/templates/poster-webinar/preview.png", headers={"Origin": "https://learn.example.com"})
    assert read.headers["Access-Control-Allow-Origin"] == "https://learn.example.com"
    assert "ETag" in read.headers["Access-Control-Expose-Headers"]
    refused = client.options("/v1/generations", headers={"Origin": "https://evil.example.com", **preflight})
    assert refused.status_code == 400 and "Access-Control-Allow-Origin" not in refused.headers
    plain = client.get("/v1/packs", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in plain.headers


def test_without_embed_origins_the_api_answers_no_cross_origin_request(tmp_path: Path) -> None:
    with client_for(service_for("sqlite", tmp_path, with_pipeline=False)) as plain:
        response = plain.get("/v1/packs", headers={"Origin": "https://learn.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("template", [t for t in load_catalog().all()], ids=lambda t: t.id)
def test_every_template_has_a_png_preview_of_its_shape(client: TestClient, template: object) -> None:
    from media.templates import Template

    assert isinstance(template, Template)
    response = client.get(f"/v1/templates/{template.id}/preview.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    width, height = SIZES[template.aspect_ratio]
    assert image.format == "PNG" and image.width <= PREVIEW_WIDTH
    assert abs(image.width / image.height - width / height) < 0.02
    assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50  # a picture, not a flat fill


def test_a_preview_is_cached_with_an_etag_and_answers_304_when_it_matches(client: TestClient) -> None:
    first = client.get("/v1/templates/poster-webinar/preview.png")
    etag = first.headers["ETag"]
    assert etag.startswith('"poster-webinar-v1-') and "max-age" in first.headers["Cache-Control"]
    assert client.get("/v1/templates/poster-webinar/preview.png").content == first.content
    again = client.get("/v1/templates/poster-webinar/preview.png", headers={"If-None-Match": f'"x", W/{etag}'})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    other = client.get("/v1/templates/poster-webinar/preview.png", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content


def test_previews_of_different_templates_differ(client: TestClient) -> None:
    pictures = {client.get(f"/v1/templates/{t}/preview.png").content
                for t in ("poster-webinar", "poster-course-launch", "social-tip")}
    assert len(pictures) == 3


def test_a_preview_of_an_unknown_template_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/templates/no-such-template/preview.png")
    assert response.status_code == 404 and response.json()["type"].endswith(":unknown-template")


async def test_a_template_is_rendered_once_however_many_ask_at_the_same_time() -> None:
    import asyncio

    class Counting:
        """The model's interface, counting calls and returning a fixed picture."""

        def __init__(self) -> None:
            self.requests: list[ImageRequest] = []

        async def generate(self, request: ImageRequest) -> ImageResult:
            self.requests.append(request)
            await asyncio.sleep(0.05)
            out = io.BytesIO()
            Image.new("RGB", request.size, "#123456").save(out, format="PNG")
            return ImageResult(out.getvalue(), "image/png", "test", "test", request.seed)

        async def aclose(self) -> None:
            """Nothing to close."""

    model = Counting()
    previews = Previews(model)
    template = load_catalog().get("poster-course-launch")
    found = await asyncio.gather(*(previews.get(template) for _ in range(5)))
    assert len(model.requests) == 1 and len({p.etag for p in found}) == 1
    assert model.requests[0].caption == "Data Science Bootcamp · 1 March"
    assert Image.open(io.BytesIO(found[0].png)).width == PREVIEW_WIDTH



async def test_a_photo_templates_preview_shows_the_sample_portrait_given_the_templates_treatment() -> None:
    from media.models.local import LocalModel
    from media.samples import SAMPLE_PHOTO

    class Recording(LocalModel):
        """The local model, keeping the requests it was asked to draw."""

        requests: list[ImageRequest] = []

        async def generate(self, request: ImageRequest) -> ImageResult:
            self.requests.append(request)
            return await super().generate(request)

    model = Recording(scale=0.1)
    await Previews(model).get(load_catalog().get("profile-professional"))
    await Previews(model).get(load_catalog().get("poster-webinar"))
    photo, poster = model.requests
    assert photo.input_data == SAMPLE_PHOTO.read_bytes() and photo.input_image
    assert poster.input_data is None and poster.input_image is None

def test_previews_use_each_variables_sample_or_default() -> None:
    catalog = load_catalog()
    assert preview_request(catalog.get("poster-course-launch")).payload.variables == {
        "course": "Data Science Bootcamp", "date": "1 March", "style": "minimal"}
    for template in catalog.all():  # sample text everywhere: no preview shows a field's label as its text
        for variable in template.variables:
            if variable.type == "text" and variable.required:
                assert variable.sample is not None or variable.default is not None, (template.id, variable.name)


@pytest.fixture(params=["sqlite", "postgres"])
def store_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, TestClient]]:
    """A service on each store, and its client."""
    pg_env = request.getfixturevalue("pg_env") if request.param == "postgres" else None
    service = service_for(request.param, tmp_path, pg_env, with_pipeline=False)
    with client_for(service) as client:
        yield service, client


def test_the_wallet_names_the_soonest_expiring_credits(store_client: tuple[Service, TestClient]) -> None:
    service, client = store_client
    position = buy(client)
    wallet = client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()
    assert wallet["next_expiry"] is None  # bought credits do not expire
    for amount, expires_at in ((40, "2099-01-01T00:00:00Z"), (10, "2098-06-01T00:00:00Z"),
                               (7, "2098-06-01T00:00:00Z")):
        grant = client.post("/v1/admin/wallets/alice/grants", headers={**ADMIN, **key()},
                            json={"amount": amount, "reason": "promo", "expires_at": expires_at})
        assert grant.status_code == 201, grant.text
        position = grant.json()["position"]
    wallet = client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()
    assert wallet["next_expiry"] == {"credits": 17, "expires_at": "2098-06-01T00:00:00Z"}
    # Spending burns the soonest-expiring credits first: what is left of them is what lapses.
    spent = client.post("/v1/generations", headers={**ALICE, **key()}, json={
        "template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}})
    assert spent.status_code == 202, spent.text
    position = spent.json()["position"]
    wallet = client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()
    assert wallet["next_expiry"] == {"credits": 12, "expires_at": "2098-06-01T00:00:00Z"}
    admin_view = client.get(f"/v1/admin/wallets/alice?min_position={position}", headers=ADMIN).json()
    assert admin_view["next_expiry"] == wallet["next_expiry"]
    # Once those have lapsed, the next ones are named; once every promo has, none.
    service.clock = lambda: datetime(2098, 7, 1, tzinfo=UTC)
    wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert wallet["next_expiry"] == {"credits": 40, "expires_at": "2099-01-01T00:00:00Z"}
    service.clock = lambda: datetime(2099, 1, 1, tzinfo=UTC)
    assert client.get("/v1/wallet", headers=ALICE).json()["next_expiry"] is None
