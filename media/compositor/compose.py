"""Setting a template's text over artwork: each slot fitted to its box, readable against what is behind it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, UnidentifiedImageError

from media.compositor import runs
from media.compositor.contrast import FLOOR, RGB, background_range, mix, ratio, readable, rgb, worst_contrast
from media.compositor.fit import FittedText, fit
from media.compositor.fonts import check_glyphs, font_path, script_of, unprintable, weighted
from media.layout import DEFAULT_SLOT, Slot
from media.ports import SIZES
from media.templates import Template, VariableError, placeholders
from media.text import right_to_left

LANGUAGES = {"devanagari": ("hi", "mr"), "tamil": ("ta",), "telugu": ("te",), "latin": (), "bengali": ("bn",),
             "gujarati": ("gu",), "gurmukhi": ("pa",), "kannada": ("kn",), "malayalam": ("ml",), "oriya": ("or",),
             "arabic": ("ur",)}
MIRRORED = {"left": "right", "center": "center", "right": "left"}  # a slot's alignment for a right-to-left line
BOX = tuple[int, int, int, int]
JPEG_QUALITY = 95  # the finished image: no difference to the eye from the PNG (PSNR above 40 dB on every template)


class UnreadableArt(ValueError):
    """The model's output is not an image the compositor can read."""


@dataclass(frozen=True)
class Placement:
    """Where one slot's text was set, in which font, size and colour, and the contrast it reached."""

    slot: str
    text: str
    area: BOX  # the slot's box in pixels, already inside the safe margin
    bounds: BOX  # the set text's own bounds
    font: str  # the font file's name
    script: str
    size: int
    color: RGB
    contrast: float


@dataclass(frozen=True)
class Composed:
    """The finished image, the same image without its text, and where each text went."""

    image: Image.Image
    background: Image.Image
    placements: tuple[Placement, ...]
    safe_area: BOX

    def png(self) -> bytes:
        """The image as PNG bytes."""
        out = io.BytesIO()
        self.image.save(out, format="PNG", compress_level=1)  # speed over bytes: stores re-encode
        return out.getvalue()

    def jpeg(self) -> bytes:
        """The image as the JPEG that is stored and downloaded: quality 95 with full-resolution colour (4:4:4),
        so text edges keep their colour; a tenth of the PNG's CPU (8 against 120 ms for a photo at 1920x1080)."""
        out = io.BytesIO()
        self.image.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
        return out.getvalue()


def slot_texts(template: Template, values: dict[str, str]) -> list[tuple[Slot, str]]:
    """Each slot with its text for these variables; slots whose variables are all empty are left out."""
    filled = {**values, "caption": template.render_caption(values)}
    language = LANGUAGES[script_of(" ".join(values.values()))]
    texts = []
    slots = (DEFAULT_SLOT,) if template.layout.slots is None else template.layout.slots
    for slot in slots:
        source = next((slot.translations[lang] for lang in language if lang in slot.translations), slot.text)
        used = placeholders(source)
        if used and not any(filled.get(name) for name in used):
            continue
        text = " ".join(source.format_map(filled).split())
        if text:
            texts.append((slot, text.upper() if slot.uppercase and script_of(text) == "latin" else text))
    return texts


def compose(art: Image.Image, template: Template, variables: dict[str, Any]) -> Composed:
    """The artwork at the template's native size with every slot's text set on it."""
    values = template.clean(variables)
    size = SIZES[template.aspect_ratio]
    canvas = _cover(art.convert("RGB"), size)
    width, height = size
    inset = round(min(size) * template.layout.margin)
    safe = (inset, inset, width - inset, height - inset)
    palette = [rgb(c) for c in template.palette]
    learner = values.get(template.layout.color_variable or "", "")
    colors = {"base": palette[0], "accent": palette[1], "ink": palette[-1],
              "learner": rgb(learner) if learner else palette[1]}
    planned = []
    for slot, text in slot_texts(template, values):
        script = script_of(text)
        check_glyphs(text, script, slot.role)
        area = _area(slot, size, safe)
        fitted = fit(text, script=script, role=slot.role, weight=slot.weight, sizes=slot.size,
                     width=area[2] - area[0], height=area[3] - area[1], max_lines=slot.max_lines)
        planned.append((slot, text, script, area, fitted, _bounds(slot, area, fitted)))
    for slot, _, _, area, fitted, bounds in planned:
        _backdrop(canvas, slot, area, bounds, fitted.size, colors)
    background = canvas.copy()
    placements = []
    for slot, text, script, area, fitted, bounds in planned:
        wanted = [colors[slot.color], colors["ink"], colors["base"]]
        color = _readable(canvas, background, bounds, wanted, colors["base"], fitted.size)
        dark, light = background_range(background, bounds)
        _draw(canvas, slot, fitted, bounds, color, script)
        used = weighted(font_path(script, slot.role), slot.weight).name  # a static family's file for the weight
        placements.append(Placement(slot.name, text, area, bounds, used, script, fitted.size, color,
                                    round(worst_contrast(color, dark, light), 2)))
    return Composed(canvas, background, tuple(placements), safe)


def compose_art(data: bytes, template: Template, variables: dict[str, Any]) -> Composed:
    """``compose`` for the model's image bytes."""
    try:
        with Image.open(io.BytesIO(data)) as art:
            art.load()
            return compose(art, template, variables)
    except (UnidentifiedImageError, OSError) as error:
        raise UnreadableArt(f"the model's output is not a readable image: {error}") from error


def compose_png(data: bytes, template: Template, variables: dict[str, Any]) -> bytes:
    """``compose`` for image bytes in and PNG bytes out."""
    return compose_art(data, template, variables).png()


def _cover(art: Image.Image, size: tuple[int, int]) -> Image.Image:
    # ``art`` is the caller's fresh copy: returned as it is when it has the size already
    if art.size == size:
        return art
    scale = max(size[0] / art.width, size[1] / art.height)
    scaled = (max(size[0], round(art.width * scale)), max(size[1], round(art.height * scale)))
    left, top = (scaled[0] - size[0]) // 2, (scaled[1] - size[1]) // 2
    # only the part that is kept is resampled: the same pixels as scaling the whole, then cropping
    x, y = art.width / scaled[0], art.height / scaled[1]
    return art.resize(size, Image.Resampling.BICUBIC,
                      box=(left * x, top * y, (left + size[0]) * x, (top + size[1]) * y))


def _area(slot: Slot, size: tuple[int, int], safe: BOX) -> BOX:
    left, top, right, bottom = slot.box
    width, height = size
    return (max(safe[0], round(left * width)), max(safe[1], round(top * height)),
            min(safe[2], round(right * width)), min(safe[3], round(bottom * height)))


def _bounds(slot: Slot, area: BOX, fitted: FittedText) -> BOX:
    x0, y0, x1, y1 = area
    align = MIRRORED[slot.align] if right_to_left(fitted.text) else slot.align
    left = {"left": x0, "center": (x0 + x1 - fitted.width) // 2, "right": x1 - fitted.width}[align]
    top = {"top": y0, "middle": (y0 + y1 - fitted.height) // 2, "bottom": y1 - fitted.height}[slot.valign]
    return left, top, left + fitted.width, top + fitted.height


def _backdrop(canvas: Image.Image, slot: Slot, area: BOX, bounds: BOX, size: int, colors: dict[str, RGB]) -> None:
    pad = max(8, size // 2)
    kind = slot.backdrop
    if kind == "auto":  # a scrim only where the art behind the text is busy (light and dark parts both)
        dark, light = background_range(canvas, bounds)
        kind = "scrim" if ratio(light, dark) > 2.2 else "none"
    if kind == "scrim":
        _scrim(canvas, area, bounds, pad, mix(colors["base"], (0, 0, 0), 0.45))
    elif kind in ("panel", "pill"):
        fill = colors["base"] if kind == "panel" else colors["accent"]
        box = (bounds[0] - pad, bounds[1] - pad // 2, bounds[2] + pad, bounds[3] + pad // 2)
        layer = Image.new("L", canvas.size, 0)
        radius = (box[3] - box[1]) // 2 if kind == "pill" else pad // 2
        ImageDraw.Draw(layer).rounded_rectangle(box, radius=radius, fill=235 if kind == "panel" else 255)
        _fill(canvas, fill, layer)


def _scrim(canvas: Image.Image, area: BOX, bounds: BOX, pad: int, shade: RGB) -> None:
    # strong from the nearest edge across the text, then fading out: from the left for text that keeps to the
    # left, else from the bottom or the top
    reach = max(5 * pad, min(canvas.size) // 3)
    if area[2] < canvas.width * 0.7:
        length, solid = canvas.width, bounds[2]
    elif (area[1] + area[3]) / 2 > canvas.height / 2:
        length, solid = canvas.height, canvas.height - bounds[1]
    else:
        length, solid = canvas.height, bounds[3]
    profile = [round(210 * _ease(1 - (i - solid) / reach)) if i > solid else 210 for i in range(length)]
    line = Image.new("L", (length, 1))
    line.putdata(profile)
    strip = line  # one row of the mask, or one column (turned and flipped here, while it is one line)
    if area[2] >= canvas.width * 0.7:
        strip = line.transpose(Image.Transpose.ROTATE_270)  # (1, length): left→top
        if (area[1] + area[3]) / 2 > canvas.height / 2:
            strip = strip.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    # every row (or column) of the mask is the line: widened by repeating it, the same pixels as resampling it
    _fill(canvas, shade, strip.resize(canvas.size, Image.Resampling.NEAREST))


def _fill(canvas: Image.Image, color: RGB, mask: Image.Image) -> None:
    # ``color`` laid over ``canvas`` through ``mask`` (its size), only where the mask is not empty: the same
    # pixels as pasting a whole canvas of the colour, without making one or blending where nothing shows
    box = mask.getbbox()
    if box is not None:
        canvas.paste(color, box, mask.crop(box))


def _ease(t: float) -> float:
    t = max(0.0, min(1.0, t))
    return t * t * (3 - 2 * t)  # smoothstep: no visible edge where the scrim ends


def _readable(canvas: Image.Image, background: Image.Image, bounds: BOX, wanted: list[RGB], base: RGB,
              size: int) -> RGB:
    # the slot's own colour if it reads, else another palette colour that does, else the nearest that does
    dark, light = background_range(background, bounds)
    passing = [c for c in wanted if worst_contrast(c, dark, light) >= FLOOR]
    color = passing[0] if passing else readable(wanted[0], dark, light)
    strength = 0.55
    while color is None:  # even white or black is not enough: lay a panel of the base colour under the text
        pad = max(6, size // 3)
        box = (bounds[0] - pad, bounds[1] - pad // 2, bounds[2] + pad, bounds[3] + pad // 2)
        layer = Image.new("L", canvas.size, 0)
        ImageDraw.Draw(layer).rounded_rectangle(box, radius=pad // 2, fill=round(255 * strength))
        shade = mix(base, (0, 0, 0), 0.3)
        _fill(canvas, shade, layer)
        _fill(background, shade, layer)
        dark, light = background_range(background, bounds)
        color = readable(wanted[0], dark, light, FLOOR) if strength < 1 else readable((255, 255, 255), dark, light, 1)
        strength = min(1.0, strength + 0.15)
    return color


def _draw(canvas: Image.Image, slot: Slot, fitted: FittedText, bounds: BOX, color: RGB, script: str) -> None:
    rtl = right_to_left(fitted.text)
    align = MIRRORED[slot.align] if rtl else slot.align  # Urdu keeps to the right
    ascent = fitted.ascent
    for i, line in enumerate(fitted.lines):
        wide = runs.width(line, script=script, role=slot.role, weight=slot.weight, size=fitted.size, rtl=rtl)
        # whole pixels where Pillow's own centre and right anchors put them, so Latin lines set as before
        middle = (bounds[0] + bounds[2]) // 2 - round(wide / 2)
        x = {"left": bounds[0], "center": middle, "right": bounds[2] - round(wide)}[align]
        runs.draw_line(canvas, (x, bounds[1] + i * fitted.line_height), line, script=script, role=slot.role,
                       weight=slot.weight, size=fitted.size, ascent=ascent, color=color, rtl=rtl)


def check_printable(template: Template, values: dict[str, str]) -> None:
    """Refuse, naming the variable and the character, text that no font of the slots it is set in (nor an emoji
    picture) can draw: checked before any credit is held, so nothing is accepted only to fail in the worker."""
    slots = (DEFAULT_SLOT,) if template.layout.slots is None else template.layout.slots
    roles: dict[str, set[str]] = {}
    for slot in slots:
        for source in (slot.text, *slot.translations.values()):
            for name in placeholders(source):
                for used in placeholders(template.caption) if name == "caption" else [name]:
                    roles.setdefault(used, set()).add(slot.role)
    for name, value in values.items():
        script = script_of(value)
        for role in sorted(roles.get(name, ())):
            missing = unprintable(value, script, role)
            if missing:
                raise VariableError(name, f"{missing[0]} cannot be printed on this template "
                                          f"({' '.join(f'U+{ord(c):04X}' for c in missing[0])})")
