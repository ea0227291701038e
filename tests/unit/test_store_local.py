"""The local file store: image, thumbnail and record under the data folder, never overwritten."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from generation.errors import StorageError
from generation.ports import ImageResult
from generation.stores.local import LocalStore

pytestmark = pytest.mark.unit


def image(color: str = "purple", provider: str = "local") -> ImageResult:
    out = io.BytesIO()
    Image.new("RGB", (640, 320), color).save(out, format="PNG")
    return ImageResult(data=out.getvalue(), content_type="image/png", provider=provider, model="pillow", seed=3,
                       timings={"model": 0.02})


async def test_an_image_is_written_under_media_with_a_thumbnail_and_served_urls(tmp_path: Path) -> None:
    kept = await LocalStore(tmp_path).put("gen-1", image(), ("poster",))
    assert (kept.url, kept.thumbnail_url) == ("/media/gallery/gen-1.png", "/media/gallery/gen-1_thumb.jpg")
    assert (tmp_path / "media/gallery/gen-1.png").read_bytes() == image().data
    with Image.open(tmp_path / "media/gallery/gen-1_thumb.jpg") as thumb:
        assert thumb.format == "JPEG" and thumb.size == (256, 128)
    assert (kept.provider, kept.model, kept.seed, kept.timings) == ("local", "pillow", 3, {"model": 0.02})


async def test_find_returns_the_record_and_a_second_put_keeps_the_first_image(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert await store.find("gen-2") is None
    first = await store.put("gen-2", image())
    again = await store.put("gen-2", image("yellow", provider="openai"))
    assert again == first == await store.find("gen-2")
    assert (tmp_path / "media/gallery/gen-2.png").read_bytes() == image().data


async def test_concurrent_puts_of_one_id_agree_on_one_record(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    results = await asyncio.gather(*(store.put("gen-3", image(provider=f"p{i}")) for i in range(8)))
    assert len({r.provider for r in results}) == 1
    assert sorted(p.name for p in (tmp_path / "media/gallery").iterdir()) == [
        "gen-3.json", "gen-3.png", "gen-3_og.jpg", "gen-3_thumb.jpg"]


async def test_an_id_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not a plain id"):
        await LocalStore(tmp_path).put("../../etc/x", image())
