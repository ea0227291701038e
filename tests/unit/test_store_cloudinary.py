"""The Cloudinary store with the SDK's own code running and only its HTTP connection replaced."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import cloudinary.api_client.call_api
import cloudinary.uploader
import pytest
from PIL import Image
from urllib3.response import HTTPResponse

from generation.ports import ImageResult
from generation.stores.cloudinary import CloudinaryStore

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
        found = re.match(r"^/v1_1/demo/resources/image/upload/(.+)$", path)
        if method == "GET" and found and found.group(1) in self.assets:
            return self.answer(200, self.assets[found.group(1)])
        return self.answer(404, {"error": {"message": "Resource not found"}})

    def upload(self, fields: dict[str, Any], tags: list[str]) -> HTTPResponse:
        self.uploads.append({**fields, "tags": tags})
        assert fields["signature"] and fields["api_key"] == "key"
        public_id = fields["public_id"]
        if public_id in self.assets and fields.get("overwrite") == "0":
            existing = {k: v for k, v in self.assets[public_id].items() if k != "context"}
            return self.answer(200, {**existing, "existing": True})
        asset = {"public_id": public_id, "version": 1700000000 + len(self.uploads), "format": "png",
                 "resource_type": "image", "tags": tags,
                 "secure_url": f"https://res.cloudinary.com/demo/image/upload/v1/{public_id}.png",
                 "context": {"custom": parse_context(fields.get("context", ""))}}
        self.assets[public_id] = asset
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


async def test_an_upload_uses_the_gallery_public_id_without_overwrite_and_with_tags(fake: FakeCloudinary) -> None:
    kept = await store().put("gen-1", image(), ("poster", "poster-webinar"))
    [upload] = fake.uploads
    assert upload["public_id"] == "gallery/gen-1" and upload["overwrite"] == "0"
    assert upload["tags"] == ["poster", "poster-webinar"]
    assert kept.url == "https://res.cloudinary.com/demo/image/upload/v1/gallery/gen-1.png"
    assert kept.storage_id == "gen-1" and (kept.provider, kept.model, kept.seed) == ("replicate", "flux", 5)
    assert kept.timings == {"model": 1.25}
    assert "c_fill" in kept.thumbnail_url and "w_256" in kept.thumbnail_url
    assert kept.thumbnail_url.endswith("/gallery/gen-1")


async def test_find_reads_the_asset_and_its_context_back(fake: FakeCloudinary) -> None:
    assert await store().find("gen-2") is None
    kept = await store().put("gen-2", image())
    assert await store().find("gen-2") == kept


async def test_a_second_upload_keeps_the_first_asset(fake: FakeCloudinary) -> None:
    first = await store().put("gen-3", image())
    other = ImageResult(data=png(), content_type="image/png", provider="openai", model="gpt-image-1", seed=None)
    again = await store().put("gen-3", other)
    assert again == first and fake.assets["gallery/gen-3"]["context"]["custom"]["provider"] == "replicate"
