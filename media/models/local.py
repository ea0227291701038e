"""The local model: procedural artwork drawn with Pillow, or the learner's photo given the style's treatment."""

from __future__ import annotations

import asyncio
import io
import time

from PIL import Image

from media import art
from media.art.photo import UnreadablePhoto, treat
from media.errors import InvalidInput
from media.models.http import input_photo, since
from media.ports import ImageRequest, ImageResult
from media.threads import Lane


def paint(request: ImageRequest, scale: float, photo: bytes | None = None) -> Image.Image:
    """The artwork (no text) for ``request``: the same request always gives the same pixels."""
    width, height = (max(64, round(side * scale)) for side in request.size)
    if photo is not None:
        try:
            return treat(photo, request.style, max(width, height), request.palette, request.tint)
        except UnreadablePhoto as error:
            raise InvalidInput(str(error)) from error
    return art.draw(request.category, request.style, (width, height), request.seed, request.palette, request.tint)


def draw(request: ImageRequest, scale: float, photo: bytes | None = None) -> bytes:
    """The artwork (no text) for ``request`` as PNG: the same request always gives the same bytes."""
    out = io.BytesIO()
    paint(request, scale, photo).save(out, format="PNG", compress_level=1)
    return out.getvalue()


class LocalModel:
    """Renders an image on this machine, with no key and no network."""

    provider = "local"

    def __init__(self, *, scale: float = 1.0, delay: float = 0.0, lane: Lane | None = None) -> None:
        if not 0.05 <= scale <= 2:
            raise ValueError(f"scale must be between 0.05 and 2, got {scale}")
        self.scale = scale
        self.delay = delay  # added render time, to stand in for a remote model in drills
        self.lane = lane  # where it draws; None: the event loop's default threads (a worker's own loop)

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Draw the image (in a thread: Pillow is CPU work) and hand over its pixels: the compositor takes them as
        they are, so the art is never encoded as PNG only to be decoded again in the same process."""
        import anyio.to_thread

        start = time.perf_counter()
        if self.delay:
            await asyncio.sleep(self.delay)
        photo = input_photo(request) if request.input_image else None
        if self.lane is not None:
            picture = await self.lane.run(paint, request, self.scale, photo)
        else:
            picture = await anyio.to_thread.run_sync(paint, request, self.scale, photo)
        return ImageResult(data=b"", content_type="image/png", provider="local", model="pillow",
                           seed=request.seed, timings={"model": since(start)}, picture=picture)

    async def aclose(self) -> None:
        """Nothing to release."""
