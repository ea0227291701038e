"""Composing a template's image and checking it as a learner would see it."""

from __future__ import annotations

import io
import uuid

from PIL import Image

from media import samples
from media.compositor import compose
from media.compositor.contrast import FLOOR, background_range, worst_contrast
from media.compositor.fonts import script_of
from media.ports import SIZES
from media.templates import Template

EXPECTED_FONT = {"latin": ("NotoSans[", "NotoSansDisplay["), "devanagari": ("NotoSansDevanagari[",),
                 "tamil": ("NotoSansTamil[",), "telugu": ("NotoSansTelugu[",), "bengali": ("NotoSansBengali[",),
                 "gujarati": ("NotoSansGujarati[",), "gurmukhi": ("NotoSansGurmukhi[",),
                 "kannada": ("NotoSansKannada[",), "malayalam": ("NotoSansMalayalam[",),
                 "oriya": ("NotoSansOriya[",), "arabic": ("Amiri-",)}


def art(template: Template, values: dict[str, str], seed: int = 7) -> Image.Image:
    """The local model's artwork, drawn small (the compositor scales it to the native size)."""
    from media.models.local import draw

    photo = samples.SAMPLE_PHOTO.read_bytes() if template.needs_input_image else None
    request = samples.request(template, values, uuid.UUID(int=seed), "/media/me.jpg" if photo else None)
    return Image.open(io.BytesIO(draw(request, 0.15, photo)))


def check(template: Template, values: dict[str, str], language: str) -> None:
    composed = compose(art(template, values), template, values)
    assert composed.image.size == SIZES[template.aspect_ratio]
    left, top, right, bottom = composed.safe_area
    for placed in composed.placements:
        x0, y0, x1, y1 = placed.bounds
        assert left <= x0 < x1 <= right and top <= y0 < y1 <= bottom, (template.id, placed)
        dark, light = background_range(composed.background, placed.bounds)
        assert worst_contrast(placed.color, dark, light) >= FLOOR, (template.id, placed)
        expected = samples.SCRIPTS[language]
        if script_of(placed.text) != "latin" or expected == "latin":
            assert placed.script == expected and placed.font.startswith(EXPECTED_FONT[expected]), placed
    has_text = template.layout.slots is None or bool(template.layout.slots)
    assert bool(composed.placements) == has_text
