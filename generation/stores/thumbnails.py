"""Thumbnails with Pillow, and the metadata every store keeps beside an image."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image, ImageFilter

from generation.errors import StorageError
from generation.marks import XMP
from generation.ports import OPEN_GRAPH, ImageResult, StoredImage

THUMBNAIL_SIDE = 640  # a gallery card on a phone is ~340 CSS pixels wide: sharp at 2x


def picture_of(image: ImageResult, purpose: str) -> Image.Image:
    """The image as RGB pixels: the compositor's picture when it came with one, else ``data`` decoded."""
    if image.picture is not None:
        return image.picture.convert("RGB")  # type: ignore[no-any-return]
    try:
        with Image.open(io.BytesIO(image.data)) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError) as error:
        raise StorageError(f"cannot read the image to make {purpose}: {error}") from error


def thumbnail(image: ImageResult, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG no larger than ``side`` pixels on its longer edge."""
    small = picture_of(image, "a thumbnail")
    small.thumbnail((side, side))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80, xmp=XMP)  # the AI mark goes where the image goes
    return out.getvalue()


def open_graph(image: ImageResult, size: tuple[int, int] = OPEN_GRAPH) -> bytes:
    """The share-page preview (1200x630 JPEG): the whole image centred on a blurred, darkened copy of itself,
    so a portrait poster keeps its text instead of losing its top and bottom to a crop."""
    picture = picture_of(image, "its share preview")
    width, height = size
    scale = max(width / picture.width, height / picture.height)
    backdrop = picture.resize((max(1, round(picture.width * scale / 8)), max(1, round(picture.height * scale / 8))),
                              Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(3))
    backdrop = backdrop.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BILINEAR)
    left, top = (backdrop.width - width) // 2, (backdrop.height - height) // 2
    canvas = Image.eval(backdrop.crop((left, top, left + width, top + height)), lambda v: v * 3 // 5)
    fitted = picture.copy()
    fitted.thumbnail(size, Image.Resampling.LANCZOS)
    canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=85, optimize=True, xmp=XMP)
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
