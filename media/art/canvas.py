"""What every art style draws with: a seeded canvas, gradients, grain, glow and soft shapes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from media.compositor.contrast import RGB, mix, rgb

FOCUS = {"poster": (0.5, 0.34), "social_post": (0.5, 0.4), "teaser": (0.7, 0.45), "profile_photo": (0.5, 0.5)}


@dataclass
class Canvas:
    """A drawing in progress: its image, palette, seeded randomness and the point the composition is about."""

    image: Image.Image
    base: RGB
    accent: RGB
    ink: RGB
    rng: random.Random
    focus: tuple[int, int]
    category: str

    @classmethod
    def start(cls, size: tuple[int, int], palette: tuple[str, ...], seed: int, category: str,
              tint: str | None = None) -> Canvas:
        """A blank canvas for ``category`` (the learner's colour, if any, replaces the accent)."""
        colors = [rgb(c) for c in palette]
        fx, fy = FOCUS.get(category, (0.5, 0.4))
        if size[1] > 1.5 * size[0]:  # a story: its top and bottom are under the app's controls
            fy = 0.55
        return cls(Image.new("RGB", size, colors[0]), colors[0], rgb(tint) if tint else colors[1], colors[-1],
                   random.Random(seed), (round(size[0] * fx), round(size[1] * fy)), category)  # noqa: S311

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.image.width

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.image.height

    @property
    def unit(self) -> int:
        """A length that scales with the canvas: a hundredth of the shorter side."""
        return max(1, min(self.image.size) // 100)

    def pen(self) -> ImageDraw.ImageDraw:
        """A drawing context on the canvas."""
        return ImageDraw.Draw(self.image)

    def layer(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        """A transparent layer the size of the canvas, and a pen for it."""
        layer = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        return layer, ImageDraw.Draw(layer)

    def light_layer(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        """A transparent layer with premultiplied alpha (mode "RGBa") the size of the canvas, and a pen for it: draw
        on it in ``premultiplied`` colours. Blurring and laying it skip the conversion a plain layer goes through."""
        layer = Image.new("RGBa", self.image.size, (0, 0, 0, 0))
        return layer, ImageDraw.Draw(layer)

    def paste(self, layer: Image.Image, blur: float = 0.0, opacity: float = 1.0) -> None:
        """Lay ``layer`` over the canvas, softened by ``blur`` pixels and faded by ``opacity``."""
        if blur:  # blur a quarter-size copy: a soft edge looks the same and costs a sixteenth
            small = layer.resize((max(1, layer.width // 4), max(1, layer.height // 4)), Image.Resampling.BILINEAR)
            layer = small.filter(ImageFilter.GaussianBlur(blur / 4)).resize(layer.size, Image.Resampling.BILINEAR)
        if opacity < 1:
            alpha = layer.getchannel("A").point(lambda v: round(v * opacity))
            layer.putalpha(alpha)
        self._lay(layer)

    def _lay(self, layer: Image.Image) -> None:
        # only where the layer is not transparent: the same pixels as laying the whole, without blending the rest
        box = layer.getbbox()
        if box is not None:
            part = layer if box == (0, 0, *layer.size) else layer.crop(box)
            self.image.paste(part, box, part)

    def glow(self, layer: Image.Image, radius: float, *, top: RGB, bottom: RGB) -> None:
        """Fill the canvas with a gradient from ``top`` to ``bottom`` lit by a bloom of ``layer`` (a blurred copy
        screened on the ground twice), then lay ``layer`` (best a ``light_layer``) on it.

        The ground and the bloom are both smooth, so the lit ground is made at a quarter of the size and enlarged
        once: the layer is reduced (premultiplied, as Pillow resizes a layer), blurred, laid on black and screened
        with itself (screening twice with the same light is screening once with it screened on itself), and the
        quarter-size gradient screened with that. The full-size canvas takes one reduction of the layer, one
        enlargement and the layer laid on it."""
        if layer.mode != "RGBa":
            layer = layer.convert("RGBa")
        small = layer.resize((max(1, layer.width // 4), max(1, layer.height // 4)), Image.Resampling.BILINEAR)
        bloom = small.convert("RGBA").filter(ImageFilter.GaussianBlur(radius / 4))
        lit = Image.new("RGB", bloom.size, (0, 0, 0))
        lit.paste(bloom, (0, 0), bloom)
        ground = ImageChops.screen(gradient(bloom.size, top, bottom), ImageChops.screen(lit, lit))
        self.image = ground.resize(layer.size, Image.Resampling.BILINEAR)
        self._lay(layer)

    def vertical_gradient(self, top: RGB, bottom: RGB) -> None:
        """Fill the canvas with a gradient from ``top`` to ``bottom``."""
        self.image = gradient(self.image.size, top, bottom)

    def radial_light(self, color: RGB, strength: float = 0.6, reach: float = 1.2) -> None:
        """Brighten the canvas towards ``color`` around the focus point."""
        side = round(max(self.image.size) * reach)
        mask = Image.radial_gradient("L").resize((side * 2, side * 2), Image.Resampling.BILINEAR)
        mask = mask.point(lambda v: round((255 - v) * strength))
        full = Image.new("L", self.image.size, 0)
        full.paste(mask, (self.focus[0] - side, self.focus[1] - side))
        self.image.paste(color, (0, 0, *self.image.size), full)

    def grain(self, amount: int = 8) -> None:
        """Film grain: seeded noise of +/- ``amount`` levels added to every pixel."""
        side = 256
        noise = Image.frombytes("L", (side, side), self.rng.randbytes(side * side))
        noise = noise.point(lambda v: v * 2 * amount // 255).convert("RGB")
        tiled = Image.new("RGB", self.image.size)
        for x in range(0, self.image.width, side):
            for y in range(0, self.image.height, side):
                tiled.paste(noise, (x, y))
        self.image = ImageChops.add(self.image, tiled, 1.0, -amount)

    def paper(self, strength: int = 10) -> None:
        """A soft, blotchy paper texture (low-frequency noise, cheap to store)."""
        noise = Image.frombytes("L", (32, 32), self.rng.randbytes(32 * 32)).point(lambda v: v * 2 * strength // 255)
        big = noise.resize(self.image.size, Image.Resampling.BICUBIC).convert("RGB")
        self.image = ImageChops.add(self.image, big, 1.0, -strength)

    def vignette(self, strength: float = 0.35, color: RGB = (0, 0, 0)) -> None:
        """Darken (or tint) the corners."""
        mask = Image.radial_gradient("L").resize(self.image.size, Image.Resampling.BILINEAR)
        mask = mask.point(lambda v: round(max(0, v - 90) * strength * 1.55))
        self.image.paste(color, (0, 0, *self.image.size), mask)

    def shade(self, color: RGB, t: float) -> RGB:
        """``color`` mixed ``t`` towards black (negative ``t``: towards white)."""
        return mix(color, (0, 0, 0), t) if t >= 0 else mix(color, (255, 255, 255), -t)


def gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """A vertical gradient from ``top`` to ``bottom``: one column mixed through the gradient mask, then widened
    (each row is one colour: the same pixels as mixing two full-size fills through the full-size mask)."""
    mask = Image.linear_gradient("L").resize((1, size[1]), Image.Resampling.BILINEAR)
    column = Image.new("RGB", (1, size[1]), top)
    column.paste(bottom, (0, 0, 1, size[1]), mask)
    return column.resize(size, Image.Resampling.NEAREST)


def blob(rng: random.Random, center: tuple[float, float], radius: float, points: int = 14,
         wobble: float = 0.25) -> list[tuple[float, float]]:
    """A wobbly closed outline around ``center``, like a drop of paint."""
    phase = rng.uniform(0, math.tau)
    outline = []
    for i in range(points):
        angle = phase + math.tau * i / points
        r = radius * (1 + rng.uniform(-wobble, wobble))
        outline.append((center[0] + r * math.cos(angle), center[1] + r * math.sin(angle)))
    return outline


def rgba(color: RGB, alpha: int) -> tuple[int, int, int, int]:
    """``color`` with an alpha channel."""
    return (*color, alpha)


def premultiplied(color: RGB, alpha: int) -> tuple[int, int, int, int]:
    """``color`` with an alpha channel, for a ``light_layer``: each channel times ``alpha`` / 255, rounded as
    Pillow rounds it when it premultiplies a layer (so the layer holds the same values as a converted one)."""
    r, g, b = ((v * alpha + 128 + ((v * alpha + 128) >> 8)) >> 8 for v in color)
    return r, g, b, alpha
