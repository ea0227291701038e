"""The local model: a real PNG drawn with Pillow from the template's text, colours and a seed."""

from __future__ import annotations

import asyncio
import io
import random
import textwrap
import time

from PIL import Image, ImageDraw, ImageFont

from generation.models.http import since
from generation.ports import ImageRequest, ImageResult


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def draw(request: ImageRequest, scale: float) -> bytes:
    """The PNG for ``request``: the same request always gives the same bytes."""
    rng = random.Random(request.seed)  # noqa: S311 (a drawing seed, not a secret)
    width, height = (max(64, round(side * scale)) for side in request.size)
    colors = [_rgb(c) for c in request.palette]
    base, accent, ink = colors[0], colors[1], colors[-1]
    image = Image.new("RGB", (width, height), base)
    pen = ImageDraw.Draw(image)
    for y in range(0, height, 4):  # a vertical gradient from the base colour towards the accent
        pen.rectangle((0, y, width, y + 4), fill=_mix(base, accent, 0.6 * y / height))
    for _ in range(rng.randint(6, 14)):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(width // 20, width // 4)
        color = _mix(rng.choice(colors), base, rng.uniform(0.2, 0.7))
        if rng.random() < 0.5:
            pen.ellipse((x - r, y - r, x + r, y + r), outline=color, width=max(2, r // 8))
        else:
            pen.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=color)
    text = request.caption or request.prompt.text
    size = max(12, width // 16)
    font = ImageFont.load_default(size=size)
    lines = textwrap.wrap(text, width=max(8, int(width / (size * 0.55))))[:5]
    top = height // 2 - len(lines) * size * 6 // 10
    for i, line in enumerate(lines):
        pen.text((width // 2, top + i * size * 12 // 10), line, font=font, fill=ink, anchor="ma",
                 stroke_width=max(1, size // 12), stroke_fill=base)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class LocalModel:
    """Renders an image on this machine, with no key and no network."""

    def __init__(self, *, scale: float = 0.5, delay: float = 0.0) -> None:
        if not 0.05 <= scale <= 2:
            raise ValueError(f"scale must be between 0.05 and 2, got {scale}")
        self.scale = scale
        self.delay = delay  # added render time, to stand in for a remote model in drills

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Draw the image (in a thread: Pillow is CPU work)."""
        import anyio.to_thread

        start = time.perf_counter()
        if self.delay:
            await asyncio.sleep(self.delay)
        data = await anyio.to_thread.run_sync(draw, request, self.scale)
        return ImageResult(data=data, content_type="image/png", provider="local", model="pillow",
                           seed=request.seed, timings={"model": since(start)})

    async def aclose(self) -> None:
        """Nothing to release."""
