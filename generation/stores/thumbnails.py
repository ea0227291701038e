"""Thumbnails with Pillow, and the metadata every store keeps beside an image."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image

from generation.errors import StorageError
from generation.ports import ImageResult, StoredImage

THUMBNAIL_SIDE = 256


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG no larger than ``side`` pixels on its longer edge."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            small = image.convert("RGB")
            small.thumbnail((side, side))
    except (OSError, ValueError) as error:
        raise StorageError(f"cannot read the image to make a thumbnail: {error}") from error
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
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
