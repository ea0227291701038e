"""The local store's share preview: made from the stored image on its first request, once however many ask at
once, served as it is afterwards, refused by name when the image is gone or unreadable, deleted with the image."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from media.errors import ImageMissing, StorageError
from media.image_stores import local
from media.image_stores.local import LocalStore
from media.marks import TRAINED_ALGORITHMIC_MEDIA
from media.ports import ImageResult
from tests.support.previews import Counted, count_previews

pytestmark = pytest.mark.unit


def poster() -> ImageResult:
    """A finished portrait image as the worker stores it (a JPEG, its bottom band a date line)."""
    picture = Image.new("RGB", (1080, 1350), (250, 0, 0))
    picture.paste((0, 0, 250), (0, 1250, 1080, 1350))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return ImageResult(data=out.getvalue(), content_type="image/jpeg", provider="local", model="pillow", seed=1)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counted:
    return count_previews(monkeypatch, hold=0.2)


def files(store: LocalStore) -> list[str]:
    return sorted(p.name for p in store.folder.iterdir())


async def test_the_preview_is_made_on_its_first_request_beside_the_image_with_the_ai_mark(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-1", poster())
    name = kept.url.removeprefix("/media/gallery/").removesuffix(".jpg")
    assert f"{name}_og.jpg" not in files(store)
    preview = await store.share_preview(kept.url)
    assert preview == store.folder / f"{name}_og.jpg"
    with Image.open(preview) as opened:
        assert opened.format == "JPEG" and opened.size == (1200, 630)
        band = opened.getpixel((600, 625))
        assert isinstance(band, tuple) and band[2] > 150  # the whole portrait, its date line kept
        assert f'DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in str(opened.info.get("xmp"))
    assert not [n for n in files(store) if n.startswith(".")]  # written beside it and moved in: no leftovers


async def test_a_burst_of_requests_for_one_fresh_image_makes_its_preview_once(tmp_path: Path,
                                                                             counted: Counted) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-2", poster())
    previews = await asyncio.gather(*(store.share_preview(kept.url) for _ in range(20)))
    assert counted.calls == 1 and len(set(previews)) == 1 and previews[0].is_file()
    assert store._previewing == {}  # nothing left waiting
    assert await store.share_preview(kept.url) == previews[0] and counted.calls == 1


async def test_a_request_that_goes_away_leaves_the_making_to_the_others(tmp_path: Path, counted: Counted) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-3", poster())
    first = asyncio.ensure_future(store.share_preview(kept.url))
    second = asyncio.ensure_future(store.share_preview(kept.url))
    await asyncio.sleep(0.05)
    first.cancel()
    assert (await second).is_file() and counted.calls == 1


async def test_a_preview_made_already_is_served_without_decoding_anything(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-4", poster())
    made = await store.share_preview(kept.url)

    def refused(*_: object) -> object:
        raise AssertionError("decoded again")

    monkeypatch.setattr(local, "open_graph", refused)
    monkeypatch.setattr(Image, "open", refused)
    assert await store.share_preview(kept.url) == made


async def test_an_image_never_stored_or_whose_file_is_gone_is_missing_and_nothing_is_written(
        tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(ImageMissing, match=r"the image never\.png is missing"):
        await store.share_preview("/media/gallery/never.png")
    kept = await store.put("gen-5", poster())
    (tmp_path / "media" / kept.url.removeprefix("/media/")).unlink()
    before = files(store)
    with pytest.raises(ImageMissing, match=r"the image .*\.jpg is missing"):
        await store.share_preview(kept.url)
    assert files(store) == before


@pytest.mark.parametrize("damage", ["truncated", "not an image", "empty"])
async def test_a_stored_image_that_cannot_be_read_is_refused_by_name_and_nothing_is_written(
        tmp_path: Path, damage: str) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-6", poster())
    file = tmp_path / "media" / kept.url.removeprefix("/media/")
    data = file.read_bytes()
    file.write_bytes({"truncated": data[: len(data) // 3], "not an image": b"<html>", "empty": b""}[damage])
    before = files(store)
    with pytest.raises(StorageError, match="cannot read the image to make its share preview"):
        await store.share_preview(kept.url)
    assert files(store) == before


@pytest.mark.parametrize("url", ["", "/media/gallery/", "/media/gallery/gen-7.json", "/media/gallery/../events.db",
                                 "/media/gallery/a b.png", "/media/gallery/gén.png", "/media/gallery/x.png\n",
                                 "/media/uploads/x.png", "https://elsewhere.example/media/gallery/x.png",
                                 f"/media/gallery/{'x' * 129}.png"])
async def test_a_url_that_is_not_one_of_the_stores_images_gets_no_preview(tmp_path: Path, url: str) -> None:
    store = LocalStore(tmp_path)
    await store.put("gen-7", poster())
    before = files(store)
    with pytest.raises(StorageError, match="is not the URL of an image in this store"):
        await store.share_preview(url)
    assert files(store) == before


async def test_deleting_the_image_deletes_the_preview_made_later(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-8", poster())
    await store.share_preview(kept.url)
    await store.delete("gen-8")
    assert files(store) == []


async def test_a_record_written_when_every_image_had_a_preview_still_deletes_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-9", poster())
    name = kept.url.removeprefix("/media/gallery/").removesuffix(".jpg")
    record = json.loads((store.folder / "gen-9.json").read_text())
    (store.folder / "gen-9.json").write_text(json.dumps({**record, "open_graph": f"{name}_og.jpg"}))
    (store.folder / f"{name}_og.jpg").write_bytes(b"an old preview")
    assert (await store.find("gen-9")) == kept  # still read as before
    assert await store.share_preview(kept.url) == store.folder / f"{name}_og.jpg"  # and served as it is
    await store.delete("gen-9")
    assert files(store) == []


async def test_a_preview_finished_after_its_image_was_deleted_is_not_kept(tmp_path: Path,
                                                                         counted: Counted) -> None:
    store = LocalStore(tmp_path)
    kept = await store.put("gen-10", poster())
    making = asyncio.ensure_future(store.share_preview(kept.url))
    await asyncio.sleep(0.1)  # open_graph is under way
    await store.delete("gen-10")
    with pytest.raises(ImageMissing):
        await making
    assert files(store) == []
