"""The Cloudinary store with the SDK's own code running and only its HTTP connection replaced."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import cloudinary.api_client.call_api
import cloudinary.auth_token
import cloudinary.uploader
import httpx
import pytest
from PIL import Image
from urllib3.response import HTTPResponse

from media.image_stores.cloudinary import CloudinaryStore
from media.ports import ImageResult, Upload
from projections.generations import thumbnail_of

pytestmark = pytest.mark.unit


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), "orange").save(out, format="PNG")
    return out.getvalue()


def parse_context(text: str) -> dict[str, str]:
    pairs = re.split(r"(?<!\\)\|", text)
    return dict(tuple(p.replace("\\|", "|").replace("\\=", "=") for p in re.split(r"(?<!\\)=", pair, maxsplit=1))
                for pair in pairs if pair)  # type: ignore[misc]


class FakeCloudinary:
    """Answers the Upload and Admin API calls the SDK makes, keeping assets in memory."""

    def __init__(self) -> None:
        self.assets: dict[str, dict[str, Any]] = {}
        self.uploads: list[dict[str, Any]] = []

    def request(self, method: str, url: str, fields: Any = None, headers: Any = None, **_: Any) -> HTTPResponse:
        path = unquote(urlsplit(url).path)
        if method == "POST" and path == "/v1_1/demo/image/upload":
            data = dict(fields)
            return self.upload(data, data.get("tags", "").split(",") if data.get("tags") else [])
        if method == "POST" and path == "/v1_1/demo/image/destroy":
            data = dict(fields)
            self.assets.pop(f"{data['type']}/{data['public_id']}", None)
            return self.answer(200, {"result": "ok"})
        listing = re.match(r"^/v1_1/demo/resources/image/(private|authenticated)$", path)
        if method == "GET" and listing:
            prefix = f"{listing.group(1)}/" + dict(parse_qsl(urlsplit(url).query)).get("prefix", "")
            return self.answer(200, {"resources": [a for k, a in self.assets.items() if k.startswith(prefix)]})
        found = re.match(r"^/v1_1/demo/resources/image/(private|authenticated)/(.+)$", path)
        if method == "GET" and found and f"{found.group(1)}/{found.group(2)}" in self.assets:
            return self.answer(200, self.assets[f"{found.group(1)}/{found.group(2)}"])
        return self.answer(404, {"error": {"message": "Resource not found"}})

    def upload(self, fields: dict[str, Any], tags: list[str]) -> HTTPResponse:
        self.uploads.append({**fields, "tags": tags})
        assert fields["signature"] and fields["api_key"] == "key"
        public_id, kind = fields["public_id"], fields.get("type", "upload")
        where = f"{kind}/{public_id}"
        if where in self.assets and fields.get("overwrite") == "0":
            existing = {k: v for k, v in self.assets[where].items() if k != "context"}
            return self.answer(200, {**existing, "existing": True})
        asset = {"public_id": public_id, "version": 1700000000 + len(self.uploads), "format": "png",
                 "resource_type": "image", "tags": tags, "type": kind,
                 "secure_url": f"https://res.cloudinary.com/demo/image/{kind}/v1/{public_id}.png",
                 "context": {"custom": parse_context(fields.get("context", ""))}}
        self.assets[where] = asset
        return self.answer(200, asset)

    @staticmethod
    def answer(status: int, body: dict[str, Any]) -> HTTPResponse:
        return HTTPResponse(body=json.dumps(body).encode(), status=status, preload_content=True,
                            headers={"Content-Type": "application/json"})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudinary]:
    fake = FakeCloudinary()
    monkeypatch.setattr(cloudinary.uploader, "_http", fake)
    monkeypatch.setattr(cloudinary.api_client.call_api, "_http", fake)
    yield fake


def image() -> ImageResult:
    return ImageResult(data=png(), content_type="image/png", provider="replicate", model="flux", seed=5,
                       timings={"model": 1.25})


def store() -> CloudinaryStore:
    return CloudinaryStore(cloud_name="demo", api_key="key", api_secret="secret")


async def test_an_upload_is_authenticated_under_a_keyed_hash_without_overwrite_and_with_tags(
        fake: FakeCloudinary) -> None:
    kept = await store().put("gen-1", image(), ("poster", "poster-webinar"))
    [upload] = fake.uploads
    assert upload["type"] == "authenticated" and upload["overwrite"] == "0"
    assert upload["public_id"].startswith("gallery/") and "gen-1" not in upload["public_id"]
    assert upload["public_id"] == store().public_id("gen-1") != CloudinaryStore(
        cloud_name="demo", api_key="key", api_secret="another").public_id("gen-1")
    assert upload["tags"] == ["poster", "poster-webinar"]
    assert kept.url.startswith("https://res.cloudinary.com/demo/image/authenticated/v")
    assert kept.storage_id == "gen-1" and (kept.provider, kept.model, kept.seed) == ("replicate", "flux", 5)
    assert kept.timings == {"model": 1.25}
    assert "c_limit" in kept.thumbnail_url and "w_640" in kept.thumbnail_url
    assert "fl_keep_iptc" in kept.thumbnail_url  # the XMP AI mark survives the transformation
    assert kept.thumbnail_url.endswith(upload["public_id"])


async def test_find_reads_the_asset_and_its_context_back(fake: FakeCloudinary) -> None:
    assert await store().find("gen-2") is None
    kept = await store().put("gen-2", image())
    assert await store().find("gen-2") == kept


async def test_a_second_upload_keeps_the_first_asset(fake: FakeCloudinary) -> None:
    first = await store().put("gen-3", image())
    other = ImageResult(data=png(), content_type="image/png", provider="openai", model="gpt-image-1", seed=None)
    again = await store().put("gen-3", other)
    custom = fake.assets[f"authenticated/{store().public_id('gen-3')}"]["context"]["custom"]
    assert again == first and custom["provider"] == "replicate"


def signature_part(url: str) -> str:
    found = re.search(r"/s--([A-Za-z0-9_-]{8})--/", url)
    assert found, url
    return found.group(1)


async def test_delivery_urls_are_signed_and_a_forged_signature_differs_from_the_real_one(
        fake: FakeCloudinary) -> None:
    kept = await store().put("gen-5", image())
    signed, thumb = store().signed_url(kept.url, 600), store().signed_url(kept.thumbnail_url, 600)
    assert "/image/authenticated/s--" in signed and "/image/authenticated/s--" in thumb
    assert signed.endswith(kept.url.split("/authenticated/", 1)[1])
    forger = CloudinaryStore(cloud_name="demo", api_key="key", api_secret="guessed")
    assert signature_part(forger.signed_url(kept.url, 600)) != signature_part(signed)
    assert signature_part(store().signed_url(kept.url, 600)) == signature_part(signed)
    public = "https://res.cloudinary.com/demo/image/upload/v1/gallery/old.png"
    assert store().signed_url(public, 600) == public  # not ours to sign


async def test_with_a_token_key_delivery_urls_expire_and_a_forged_token_does_not_verify(
        fake: FakeCloudinary) -> None:
    key = "00112233445566778899aabbccddeeff"
    tokens = CloudinaryStore(cloud_name="demo", api_key="key", api_secret="secret", auth_token_key=key)
    kept = await tokens.put("gen-6", image())
    signed = tokens.signed_url(kept.url, 300)
    token = dict(p.split("=", 1) for p in signed.split("__cld_token__=", 1)[1].split("~"))
    assert int(time.time()) + 290 <= int(token["exp"]) <= int(time.time()) + 310  # expires in 5 minutes
    path = urlsplit(signed).path

    def mac(expiry: int) -> str:  # the token the CDN expects for this path and expiry
        return str(cloudinary.auth_token.generate(url=path, expiration=expiry, key=key)).rsplit("hmac=", 1)[1]

    assert token["hmac"] == mac(int(token["exp"]))
    assert token["hmac"] != mac(int(token["exp"]) + 3600)  # a stretched expiry does not verify


async def test_photos_are_private_assets_per_owner_read_listed_and_deleted(
        fake: FakeCloudinary, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    photo = Upload(upload_id="up-1", owner="ana", content_type="image/png", width=32, height=16,
                   created_at=now, expires_at=now + timedelta(hours=1), data=png())
    await store().put_upload(photo)
    [upload] = fake.uploads
    assert upload["type"] == "private" and "ana" not in upload["public_id"]
    fetched: list[str] = []

    def download(url: str, **_: Any) -> httpx.Response:
        fetched.append(url)
        return httpx.Response(200, content=png(), request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", download)
    assert await store().read_upload("ana", "up-1") == photo
    assert "api.cloudinary.com" in fetched[0] and "expires_at=" in fetched[0] and "signature=" in fetched[0]
    assert await store().read_upload("bob", "up-1") is None
    assert [u.upload_id for u in await store().uploads("ana")] == ["up-1"] and await store().uploads("bob") == []
    await store().delete_upload("ana", "up-1")
    assert await store().uploads() == []


async def test_the_thumbnail_the_projection_derives_is_signed_as_a_transformation(fake: FakeCloudinary) -> None:
    kept = await store().put("gen-7", image())
    derived = thumbnail_of(SimpleNamespace(image_url=kept.url))
    assert "/image/authenticated/c_limit,w_256,h_256/v" in derived
    signed = store().signed_url(derived, 600)
    assert re.search(r"/image/authenticated/s--[A-Za-z0-9_-]{8}--/c_limit,w_256,h_256/v\d+/gallery/", signed)


async def test_deleting_an_image_destroys_its_asset_and_a_second_delete_changes_nothing(
        fake: FakeCloudinary) -> None:
    await store().put("gen-9", image())
    await store().delete("gen-9")
    assert await store().find("gen-9") is None and fake.assets == {}
    await store().delete("gen-9")
