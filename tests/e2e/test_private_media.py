"""A learner's images are private until shared: signed media URLs, share links that unsharing ends."""

from __future__ import annotations

import asyncio
import io
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from media.image_stores.signing import signature
from media.ports import ImageResult
from service.container import Service
from tests.support.http import MEDIA_KEY, bearer, key, purchase, signed

pytestmark = pytest.mark.e2e
ALICE, BOB = bearer("alice"), bearer("bob")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), "navy").save(out, format="PNG")
    return out.getvalue()


def made(client: TestClient, service: Service) -> dict[str, Any]:
    """Alice's finished poster, stored by the service's image store; its generation as the API shows it."""
    body, headers = signed(purchase("starter", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    accepted = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()}).json()
    gen = UUID(accepted["generation_id"])
    assert service.images is not None
    kept = asyncio.run(service.images.put(str(gen), ImageResult(data=png(), content_type="image/png",
                                                                provider="local", model="pillow", seed=1)))
    done = service.ledger.complete_generation(
        generation_id=gen, at=service.clock(), image_url=kept.url, storage_id=kept.storage_id,
        provider="local", model="pillow", seed=1, timings={})
    seen: dict[str, Any] = client.get(f"/v1/generations/{gen}?min_position={done.position}", headers=ALICE).json()
    return seen


def test_the_owners_image_urls_are_signed_and_the_bare_path_is_refused(client: TestClient, service: Service) -> None:
    seen = made(client, service)
    assert "?expires=" in seen["image_url"] and "&signature=" in seen["image_url"]
    image = client.get(seen["image_url"])
    assert image.status_code == 200 and image.content == png() and image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"].startswith("private")
    assert client.get(seen["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    bare = seen["image_url"].split("?")[0]
    assert str(seen["generation_id"]) not in bare  # the name says nothing about the user or the key
    refused = client.get(bare)
    assert refused.status_code == 403 and refused.json()["detail"].startswith("the link is not signed")
    gallery = client.get("/v1/gallery", headers=ALICE).json()
    assert gallery["items"][0]["image_url"] == seen["image_url"]


def test_a_forged_or_expired_signature_is_refused(client: TestClient, service: Service) -> None:
    path, query = made(client, service)["image_url"].split("?")
    params = dict(p.split("=", 1) for p in query.split("&"))
    forged = client.get(f"{path}?expires={params['expires']}&signature={'A' * 43}")
    assert forged.status_code == 403 and "not valid" in forged.json()["detail"]
    stretched = client.get(f"{path}?expires={int(params['expires']) + 86400}&signature={params['signature']}")
    assert stretched.status_code == 403 and "not valid" in stretched.json()["detail"]
    past = 1_700_000_000
    expired = client.get(f"{path}?expires={past}&signature={signature(MEDIA_KEY, path, past)}")
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]


def test_the_stores_records_are_never_served_even_with_a_valid_signature(
        client: TestClient, service: Service) -> None:
    seen = made(client, service)
    record = f"/media/gallery/{seen['generation_id']}.json"
    assert (service.media.data_dir / record.removeprefix("/")).exists()
    expires = 4_000_000_000
    answer = client.get(f"{record}?expires={expires}&signature={signature(MEDIA_KEY, record, expires)}")
    assert answer.status_code == 404 and b"provider" not in answer.content
    assert client.get("/media/../events.db").status_code == 404


def test_a_shared_image_is_public_through_its_token_until_it_is_unshared(
        client: TestClient, service: Service) -> None:
    seen = made(client, service)
    gen = seen["generation_id"]
    shared = client.post(f"/v1/generations/{gen}/share", headers={**ALICE, **key()}).json()
    client.get(f"/v1/wallet?min_position={shared['position']}", headers=ALICE)
    token = shared["share_url"].rsplit("/", 1)[1]
    public = client.get(f"/s/{token}/image")
    assert public.status_code == 200 and public.content == png()
    assert client.get(f"/s/{token}").status_code == 200
    assert client.delete(f"/v1/generations/{gen}/share", headers=BOB).status_code == 404  # not Bob's
    removed = client.delete(f"/v1/generations/{gen}/share", headers=ALICE)
    assert removed.status_code == 200 and removed.json()["shared"] is False
    after = client.get(f"/v1/generations/{gen}?min_position={removed.json()['position']}", headers=ALICE).json()
    assert after["share_url"] is None
    assert client.get(f"/s/{token}/image").status_code == 404
    page = client.get(f"/s/{token}", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "This image is not shared" in page.text
    assert client.delete(f"/v1/generations/{gen}/share", headers=ALICE).status_code == 200  # a repeat is fine
    again = client.post(f"/v1/generations/{gen}/share", headers={**ALICE, **key()}).json()
    assert again["share_url"] != shared["share_url"]  # a new link: the old one stays dead
    assert again["bonus_credits"] == 0  # the bonus came with the first share


def test_an_unknown_share_link_answers_a_browser_with_a_page_and_an_api_client_with_a_problem(
        client: TestClient) -> None:
    browser = client.get("/s/not-a-token", headers={"Accept": "text/html"})
    assert browser.status_code == 404 and "<h1>This image is not shared</h1>" in browser.text
    api = client.get("/s/not-a-token", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["type"].endswith(":share-not-found")
