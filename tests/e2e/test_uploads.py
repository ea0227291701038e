"""Photo uploads: checked by decoding, stripped of EXIF and GPS, private to their owner, bounded, purged."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from media.errors import InvalidInput
from media.inputs import InputPhotos
from service.bootstrap import build_service
from service.container import Service
from service.settings import Settings
from service.uploads import UploadPurger
from tests.support.http import (
    api_settings,
    bearer,
    key,
    media_settings,
    photo,
    purchase,
    signed,
    store_settings,
    upload,
)

pytestmark = pytest.mark.e2e
ALICE, BOB = bearer("alice"), bearer("bob")
PROFILE = "profile-avatar"


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A service on SQLite, without the pipeline, keeping at most 3 uploads of at most 200 kB per user."""
    return build_service(Settings(api=api_settings(), store=store_settings("sqlite", tmp_path),
                                  media=media_settings(tmp_path, upload_quota=3, upload_max_bytes=200_000)),
                         with_pipeline=False)


def test_an_upload_is_re_encoded_upright_without_exif_or_gps_and_kept_privately(
        client: TestClient, service: Service) -> None:
    answer = upload(client, photo(gps=True))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"upload_id", "content_type", "width", "height", "expires_at"}
    assert (body["content_type"], body["width"], body["height"]) == ("image/jpeg", 480, 640)  # turned upright
    assert service.images is not None
    kept = asyncio.run(service.images.read_upload("alice", body["upload_id"]))
    assert kept is not None
    with Image.open(io.BytesIO(kept.data)) as stored:
        assert stored.format == "JPEG" and stored.size == (480, 640)
        assert not stored.getexif() and "exif" not in stored.info and stored.getexif().get_ifd(0x8825) == {}
    assert b"PhoneMaker" not in kept.data
    assert asyncio.run(service.images.read_upload("bob", body["upload_id"])) is None
    served = list((service.media.data_dir / "media").rglob(f"{body['upload_id']}.*"))
    assert served and all(client.get(f"/media/{p.relative_to(service.media.data_dir / 'media')}").status_code == 404
                          for p in served)


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"", "empty.jpg", "the file is empty"),
    (b"GIF89a" + b"\0" * 40, "x.gif", "not an image"),
    (b"%PDF-1.7 not a picture", "cv.pdf", "not an image"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 210_000, "big.jpg", "the file is too large"),  # over 200 kB, within the body limit
])


def test_a_bad_file_is_a_422_naming_the_problem(client: TestClient, data: bytes, name: str, problem: str) -> None:
    answer = upload(client, data, name=name)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "file" and answer.json()["detail"].startswith(problem)


def test_an_unsupported_image_type_is_named(client: TestClient) -> None:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, format="GIF")
    answer = upload(client, out.getvalue(), name="anim.gif")
    assert answer.status_code == 422 and "unsupported image type GIF" in answer.json()["detail"]


def test_a_request_without_a_file_names_the_field(client: TestClient) -> None:
    answer = client.post("/v1/uploads", data={"other": "x"}, headers={**ALICE, **key()})
    assert answer.status_code == 422 and answer.json()["field"] == "body.file"


def test_the_quota_of_kept_uploads_is_a_429_with_retry_after(client: TestClient) -> None:
    for _ in range(3):
        assert upload(client, photo("PNG", (64, 64))).status_code == 201
    refused = upload(client, photo("PNG", (64, 64)))
    assert refused.status_code == 429 and refused.json()["quota"] == 3 and int(refused.headers["Retry-After"]) > 0
    assert upload(client, photo("PNG", (64, 64)), headers=BOB).status_code == 201  # per user


def test_a_profile_template_takes_an_upload_and_another_users_upload_is_unknown(
        client: TestClient, service: Service) -> None:
    body, headers = signed(purchase("starter", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    mine = upload(client, photo("WEBP", (300, 300))).json()["upload_id"]
    bobs = upload(client, photo(), headers=BOB).json()["upload_id"]
    request = {"template_id": PROFILE, "variables": {}}
    stolen = client.post("/v1/generations", json={**request, "input_upload_id": bobs}, headers={**ALICE, **key()})
    unknown = client.post("/v1/generations", json={**request, "input_upload_id": "nope"}, headers={**ALICE, **key()})
    assert stolen.status_code == unknown.status_code == 422
    assert stolen.json()["field"] == unknown.json()["field"] == "input_upload_id"
    assert stolen.json()["detail"].replace(bobs, "X") == unknown.json()["detail"].replace("nope", "X")
    both = client.post("/v1/generations", json={**request, "input_upload_id": mine,
                                                "input_image_url": "https://cdn.example/me.jpg"},
                       headers={**ALICE, **key()})
    assert both.status_code == 422 and both.json()["field"] == "input_upload_id"
    none = client.post("/v1/generations", json=request, headers={**ALICE, **key()})
    assert none.status_code == 422 and none.json()["field"] == "input_image_url"
    poster = {"template_id": "poster-course-launch", "variables": {"course": "SQL", "date": "1 March"},
              "input_upload_id": mine}
    refused = client.post("/v1/generations", json=poster, headers={**ALICE, **key()})
    assert refused.status_code == 422 and refused.json()["field"] == "input_upload_id"
    accepted = client.post("/v1/generations", json={**request, "input_upload_id": mine}, headers={**ALICE, **key()})
    assert accepted.status_code == 202, accepted.text
    assert service.images is not None
    worker = InputPhotos(service.images)  # what the worker does with the request: read the photo from the store
    data = asyncio.run(worker.read("alice", f"upload:{mine}"))
    with Image.open(io.BytesIO(data)) as read:
        assert read.format == "WEBP" and read.size == (300, 300)
    with pytest.raises(InvalidInput, match="gone"):
        asyncio.run(worker.read("mallory", f"upload:{mine}"))


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/meta-data/iam/", "http://127.0.0.1:5432/x.png",
                                 "https://10.0.0.1/me.png", "file:///etc/passwd", "https://localhost/me.png"])
def test_an_input_image_url_inside_the_network_is_a_422_naming_the_field(client: TestClient, url: str) -> None:
    body, headers = signed(purchase("starter", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    answer = client.post("/v1/generations", json={"template_id": PROFILE, "variables": {}, "input_image_url": url},
                         headers={**ALICE, **key()})
    assert answer.status_code == 422 and answer.json()["field"] == "input_image_url", answer.text
    wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert wallet["held"] == 0  # nothing was held for a refused request


def test_expired_uploads_are_purged_unless_a_pending_generation_needs_them(
        client: TestClient, service: Service) -> None:
    body, headers = signed(purchase("starter", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    used = upload(client, photo()).json()["upload_id"]
    unused = upload(client, photo()).json()["upload_id"]
    accepted = client.post("/v1/generations", json={"template_id": PROFILE, "variables": {}, "input_upload_id": used},
                           headers={**ALICE, **key()}).json()
    client.get(f"/v1/generations/{accepted['generation_id']}?min_position={accepted['position']}", headers=ALICE)
    assert service.purger is None  # the tests' service has no background threads: run one pass by hand
    later = service.clock() + timedelta(minutes=service.media.upload_ttl_minutes + 1)
    assert service.images is not None
    from service.bootstrap import uploads_in_use_at_head

    UploadPurger(service.images, lambda: uploads_in_use_at_head(service.engine, service.watcher, 1000), lambda: later,
                 60).run_once()
    left = {u.upload_id for u in asyncio.run(service.images.uploads("alice"))}
    assert left == {used} and unused not in left
