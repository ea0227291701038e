"""Thumbnails with Pillow, and the metadata every store keeps beside an image."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image, ImageFilter

from media.errors import StorageError
from media.marks import XMP
from media.ports import OPEN_GRAPH, ImageResult, StoredImage

THUMBNAIL_SIDE = 640  # a gallery card on a phone is ~340 CSS pixels wide: sharp at 2x
THUMBNAIL_GAP = 1.0  # reduce by the largest whole factor that keeps ``THUMBNAIL_SIDE``, then resample the rest


def picture_of(image: ImageResult, purpose: str) -> Image.Image:
    """The image as RGB pixels: the compositor's picture when it came with one (never changed here), else ``data``
    decoded."""
    if image.picture is not None:
        picture: Image.Image = image.picture
        return picture if picture.mode == "RGB" else picture.convert("RGB")
    try:
        with Image.open(io.BytesIO(image.data)) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise StorageError(f"cannot read the image to make {purpose}: {error}") from error


def fitted_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled to fit inside ``box``, keeping its shape (never enlarged)."""
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def shrunk(picture: Image.Image, size: tuple[int, int], *, reducing_gap: float = 2.0) -> Image.Image:
    """``picture`` resampled to ``size`` (bicubic, as ``Image.thumbnail``), box-filtered by a whole factor first where
    it is over ``reducing_gap`` times larger: the larger the gap, the closer to resampling the whole (Pillow's
    documentation), the smaller, the more of the work the cheap reduction does."""
    if picture.size == size:
        return picture
    return picture.resize(size, Image.Resampling.BICUBIC, reducing_gap=reducing_gap)


def thumbnail(image: ImageResult, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG no larger than ``side`` pixels on its longer edge, from one downscale of the picture: a 1920x1080
    image is box-reduced by 3 (a fraction of a bicubic resampling's CPU, over 40 dB from it), then resampled."""
    picture = picture_of(image, "a thumbnail")
    return _jpeg(shrunk(picture, fitted_size(picture.size, (side, side)), reducing_gap=THUMBNAIL_GAP), quality=80)


def open_graph(image: ImageResult, size: tuple[int, int] = OPEN_GRAPH) -> bytes:
    """The share-page preview (1200x630 JPEG): the whole image centred on a blurred, darkened copy of itself,
    so a portrait poster keeps its text instead of losing its top and bottom to a crop."""
    picture = picture_of(image, "its share preview")
    return _preview(picture.size, shrunk(picture, fitted_size(picture.size, size)), size)


def _preview(full: tuple[int, int], fitted: Image.Image, size: tuple[int, int]) -> bytes:
    # the backdrop covers ``size`` with the picture scaled up: drawn at an eighth of that, blurred, darkened,
    # then only its visible middle enlarged to ``size``
    width, height = size
    scale = max(width / full[0], height / full[1])
    cover = (full[0] * scale, full[1] * scale)
    small = fitted.resize((max(1, round(cover[0] / 8)), max(1, round(cover[1] / 8))), Image.Resampling.BILINEAR)
    small = small.filter(ImageFilter.GaussianBlur(3)).point(lambda v: v * 3 // 5)
    x, y = small.width / cover[0], small.height / cover[1]
    left, top = (cover[0] - width) / 2, (cover[1] - height) / 2
    canvas = small.resize(size, Image.Resampling.BILINEAR,
                          box=(left * x, top * y, (left + width) * x, (top + height) * y))
    canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    return _jpeg(canvas, quality=85)


def _jpeg(picture: Image.Image, *, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality, xmp=XMP)  # the AI mark goes where the image goes
    return out.getvalue()


def metadata(image: ImageResult) -> dict[str, str]:
    """What a store must keep to report the stored image again: provider, model, seed, timings."""
    return {
        "provider": image.provider,
        "model": image.model,
        "seed": "" if image.seed is None else str(image.seed),
        "timings": json.dumps(image.timings, sort_keys=True),
    }


def stored(url: str, storage_id: str, thumbnail_url: str, meta: dict[str, Any]) -> StoredImage:
    """A ``StoredImage`` from the metadata a store kept."""
    seed = str(meta.get("seed") or "")
    return StoredImage(url=url, storage_id=storage_id, thumbnail_url=thumbnail_url,
                       provider=str(meta.get("provider", "")), model=str(meta.get("model", "")),
                       seed=int(seed) if seed else None, timings=json.loads(meta.get("timings") or "{}"))


def extension(content_type: str) -> str:
    """The file extension for an image content type."""
    return {"image/jpeg": "jpg", "image/webp": "webp"}.get(content_type.split(";", maxsplit=1)[0].strip(), "png")
