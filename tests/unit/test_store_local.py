"""The local file store: image, thumbnail and record under the data folder, never overwritten."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from media.errors import StorageError
from media.image_stores.local import LocalStore
from media.image_stores.naming import thumbnail_url_of
from media.image_stores.signing import check, signature
from media.ports import ImageResult, Upload

pytestmark = pytest.mark.unit


def image(color: str = "purple", provider: str = "local") -> ImageResult:
    out = io.BytesIO()
    Image.new("RGB", (640, 320), color).save(out, format="PNG")
    return ImageResult(data=out.getvalue(), content_type="image/png", provider=provider, model="pillow", seed=3,
                       timings={"model": 0.02})


async def test_an_image_is_written_under_an_unguessable_name_with_a_thumbnail(tmp_path: Path) -> None:
    kept = await LocalStore(tmp_path).put("gen-1", image(), ("poster",))
    name = kept.url.removeprefix("/media/gallery/").removesuffix(".png")
    assert "gen-1" not in name and len(name) == 24
    assert kept.thumbnail_url == f"/media/gallery/{name}_thumb.jpg" == thumbnail_url_of(kept.url)  # as the read side
    assert (tmp_path / f"media/gallery/{name}.png").read_bytes() == image().data
    with Image.open(tmp_path / f"media/gallery/{name}_thumb.jpg") as thumb:
        assert thumb.format == "JPEG" and thumb.size == (640, 320)  # whole, and never enlarged
    assert (kept.provider, kept.model, kept.seed, kept.timings) == ("local", "pillow", 3, {"model": 0.02})


async def test_find_returns_the_record_and_a_second_put_keeps_the_first_image(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert await store.find("gen-2") is None
    first = await store.put("gen-2", image())
    again = await store.put("gen-2", image("yellow", provider="openai"))
    assert again == first == await store.find("gen-2")
    assert (tmp_path / "media" / first.url.removeprefix("/media/")).read_bytes() == image().data


async def test_concurrent_puts_of_one_id_agree_on_one_record_and_leave_no_other_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    results = await asyncio.gather(*(store.put("gen-3", image(provider=f"p{i}")) for i in range(8)))
    assert len({r.provider for r in results}) == 1 and len({r.url for r in results}) == 1
    name = results[0].url.removeprefix("/media/gallery/").removesuffix(".png")
    assert sorted(p.name for p in (tmp_path / "media/gallery").iterdir()) == sorted(
        ["gen-3.json", f"{name}.png", f"{name}_thumb.jpg"])  # the share preview waits for its first request


def test_a_signed_url_carries_an_expiry_and_an_hmac_the_service_checks(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, signing_key="k" * 40)
    url = store.signed_url("/media/gallery/abc.png", 600)
    path, query = url.split("?")
    params = dict(p.split("=", 1) for p in query.split("&"))
    assert path == "/media/gallery/abc.png" and int(params["expires"]) >= time.time() + 600
    assert check("k" * 40, path, params["expires"], params["signature"]) is None
    assert check("x" * 40, path, params["expires"], params["signature"]) == "the link's signature is not valid"
    assert check("k" * 40, "/media/gallery/other.png", params["expires"], params["signature"]) is not None
    forged_expiry = str(int(params["expires"]) + 3600)
    assert check("k" * 40, path, forged_expiry, params["signature"]) == "the link's signature is not valid"
    past = int(time.time()) - 10
    assert check("k" * 40, path, str(past), signature("k" * 40, path, past)) == "the link has expired"
    assert check("k" * 40, path, None, None) == "the link is not signed"
    assert store.signed_url("https://elsewhere.example/x.png", 600) == "https://elsewhere.example/x.png"


def test_urls_signed_within_one_window_are_the_same_so_browsers_can_cache_them(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert store.signed_url("/media/gallery/a.png", 600) == store.signed_url("/media/gallery/a.png", 600)


async def test_uploads_are_kept_per_owner_listed_read_and_deleted(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    now = datetime.now(UTC)
    photo = Upload(upload_id="up-1", owner="ana@example.com", content_type="image/png", width=640, height=320,
                   created_at=now, expires_at=now + timedelta(hours=1), data=image().data)
    await store.put_upload(photo)
    assert await store.read_upload("ana@example.com", "up-1") == photo
    assert await store.read_upload("bob", "up-1") is None
    assert [u.upload_id for u in await store.uploads("ana@example.com")] == ["up-1"]
    assert await store.uploads("bob") == [] and len(await store.uploads()) == 1
    assert not list((tmp_path / "media/uploads").glob("*/*ana*"))  # the owner is a digest, not a name
    await store.delete_upload("ana@example.com", "up-1")
    assert await store.read_upload("ana@example.com", "up-1") is None and await store.uploads() == []


async def test_an_id_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not a plain id"):
        await LocalStore(tmp_path).put("../../etc/x", image())
