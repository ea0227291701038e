"""The share page's Open Graph preview, ``/s/<token>/preview.jpg``: made from the stored image on its first request
(once, however many crawlers ask at once), refused as ``/s/<token>/image`` is refused, a clear problem when the
stored image is gone or unreadable, the full image where the local store does not hold it, deleted with the image."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.container import Service
from tests.support.http import bearer, key, purchase, signed
from tests.support.made import POSTER, made
from tests.support.previews import Counted, count_previews

pytestmark = pytest.mark.e2e
ALICE, MOD = bearer("alice"), bearer("mia", "moderation")
JSON = {"Accept": "application/json"}


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The e2e client of a service on SQLite without the pipeline (the tests store and complete the image
    themselves), alice holding a starter pack."""
    body, headers = signed(purchase("starter", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    return client


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counted:
    return count_previews(monkeypatch, hold=0.3)


def share(client: TestClient, generation_id: str) -> str:
    """Share the generation; the path of its share page."""
    answer = client.post(f"/v1/generations/{generation_id}/share", headers={**ALICE, **key()}).json()
    return str(answer["share_url"]).removeprefix("http://testserver")


def shared(client: TestClient, service: Service) -> tuple[str, str, Path]:
    """A shared image of alice's: its generation id, its share page's path, and its file."""
    generation_id, file = made(client, service)
    return generation_id, share(client, generation_id), file


def gallery_files(service: Service) -> list[str]:
    return sorted(p.name for p in (service.media.data_dir / "media" / "gallery").iterdir())


def test_the_share_page_points_networks_at_the_preview_and_shows_the_full_image(
        client: TestClient, service: Service) -> None:
    _, page, _ = shared(client, service)
    html = client.get(page).text
    base = f"http://testserver{page}"
    assert f'<meta property="og:image" content="{base}/preview.jpg">' in html
    assert '<meta property="og:image:width" content="1200">' in html
    assert '<meta property="og:image:height" content="630">' in html
    assert f'<meta name="twitter:image" content="{base}/preview.jpg">' in html
    assert f'<img src="{base}/image"' in html


def test_the_preview_is_a_marked_1200_by_630_jpeg_made_once_and_served_as_the_image_is(
        client: TestClient, service: Service, counted: Counted) -> None:
    _, page, file = shared(client, service)
    assert not (file.parent / f"{file.stem}_og.jpg").exists()  # not made with the image
    answer = client.get(f"{page}/preview.jpg")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert answer.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(answer.content)) as preview:
        assert preview.format == "JPEG" and preview.size == (1200, 630)
        assert "DigitalSourceType" in str(preview.info.get("xmp"))
    assert (file.parent / f"{file.stem}_og.jpg").read_bytes() == answer.content
    assert client.get(f"{page}/preview.jpg").content == answer.content and counted.calls == 1


def test_a_burst_of_crawlers_for_one_fresh_link_makes_the_preview_once_and_the_service_answers_after(
        client: TestClient, service: Service, counted: Counted) -> None:
    _, page, _ = shared(client, service)
    # fifty at once: forty for the fresh link, ten for links that share nothing (answered without a making)
    paths = [f"{page}/preview.jpg"] * 40 + [f"/s/guess-{n}/preview.jpg" for n in range(10)]
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda path: client.get(path, headers=JSON), paths))
    assert [a.status_code for a in answers] == [200] * 40 + [404] * 10
    assert len({a.content for a in answers[:40]}) == 1 and counted.calls == 1
    assert len([n for n in gallery_files(service) if n.endswith("_og.jpg")]) == 1
    assert client.get("/v1/wallet", headers=ALICE).status_code == 200  # and the service answers after


@pytest.mark.parametrize("token", ["not-a-token", "t%C3%B6k%C3%A9n", "%E2%80%AEtoken", "a%20b", "%20", "tab%09",
                                   "x" * 100])
def test_a_link_that_shares_nothing_has_no_preview(client: TestClient, service: Service, token: str,
                                                   counted: Counted) -> None:
    api = client.get(f"/s/{token}/preview.jpg", headers=JSON)
    assert api.status_code == 404 and api.json()["type"].endswith(":share-not-found")
    browser = client.get(f"/s/{token}/preview.jpg", headers={"Accept": "text/html"})
    assert browser.status_code == 404 and "This image is not shared" in browser.text
    assert counted.calls == 0


def test_an_overlong_token_is_refused_before_any_lookup(client: TestClient) -> None:
    answer = client.get(f"/s/{'x' * 101}/preview.jpg", headers=JSON)
    assert answer.status_code == 422 and "token" in answer.text


def test_an_unshared_or_taken_down_image_has_no_preview_and_a_takedown_deletes_it(
        client: TestClient, service: Service) -> None:
    generation_id, page, file = shared(client, service)
    assert client.get(f"{page}/preview.jpg").status_code == 200
    assert client.delete(f"/v1/generations/{generation_id}/share", headers=ALICE).status_code == 200
    assert client.get(f"{page}/preview.jpg", headers=JSON).status_code == 404
    assert (file.parent / f"{file.stem}_og.jpg").exists()  # unsharing keeps the image, and so its preview

    page = share(client, generation_id)
    assert client.get(f"{page}/preview.jpg").status_code == 200
    taken = client.post(f"/v1/admin/reports/{generation_id}/takedown", json={"category": "hate"}, headers=MOD)
    assert taken.status_code == 200, taken.text
    answer = client.get(f"{page}/preview.jpg", headers=JSON)
    assert answer.status_code == 404 and answer.json()["type"].endswith(":share-not-found")
    assert not list(file.parent.glob(f"{file.stem}*"))


def test_deleting_the_image_deletes_its_preview(client: TestClient, service: Service) -> None:
    generation_id, page, file = shared(client, service)
    assert client.get(f"{page}/preview.jpg").status_code == 200
    deleted = client.delete(f"/v1/generations/{generation_id}", headers=ALICE)
    assert deleted.status_code == 200, deleted.text
    assert not list(file.parent.glob(f"{file.stem}*"))
    assert client.get(f"{page}/preview.jpg", headers=JSON).status_code == 404


def test_a_stored_image_that_is_missing_is_a_404_naming_it_and_nothing_is_written(
        client: TestClient, service: Service) -> None:
    _, page, file = shared(client, service)
    file.unlink()
    before = gallery_files(service)
    answer = client.get(f"{page}/preview.jpg", headers=JSON)
    assert answer.status_code == 404 and answer.json()["detail"] == "the shared image is missing from the store"
    assert gallery_files(service) == before


@pytest.mark.parametrize("damage", ["truncated", "not an image"])
def test_a_stored_image_that_cannot_be_read_is_a_503_naming_it_and_nothing_is_written(
        client: TestClient, service: Service, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    _, page, file = shared(client, service)
    out = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(out, format="PNG")
    file.write_bytes(out.getvalue()[:5000] if damage == "truncated" else b"GIF89a not really")
    before = gallery_files(service)
    answer = client.get(f"{page}/preview.jpg", headers=JSON)
    assert answer.status_code == 503, answer.text
    problem = answer.json()
    assert problem["type"].endswith(":share-preview-unavailable") and answer.headers["cache-control"] == "no-store"
    assert problem["detail"] == "the shared image cannot be read from the store to make its preview"
    assert str(service.media.data_dir) not in answer.text and "Traceback" not in answer.text
    assert gallery_files(service) == before
    assert "cannot read the image to make its share preview" in caplog.text


def test_an_image_the_local_store_does_not_hold_is_its_own_preview(client: TestClient, service: Service) -> None:
    accepted = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()}).json()
    generation_id, elsewhere = accepted["generation_id"], "https://images.example.net/abc.png"
    service.ledger.start_generation(generation_id=UUID(generation_id), worker="test", at=service.clock())
    service.ledger.complete_generation(generation_id=UUID(generation_id), at=service.clock(), image_url=elsewhere,
                                       storage_id=generation_id, provider="openai", model="m", seed=None, timings={})
    page = share(client, generation_id)
    preview = client.get(f"{page}/preview.jpg", follow_redirects=False)
    image = client.get(f"{page}/image", follow_redirects=False)
    assert preview.status_code == image.status_code == 302
    assert preview.headers["location"] == image.headers["location"] == elsewhere
    html = client.get(page).text
    assert f'<meta property="og:image" content="http://testserver{page}/image">' in html
    assert "og:image:width" not in html and "preview.jpg" not in html
