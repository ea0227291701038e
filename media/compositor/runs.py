"""A line of text as runs: letters in the first font that has them, each emoji as a colour picture of its own
width, scaled to the text size and sitting on the line; Urdu lines laid out right to left."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import resvg_py
from PIL import Image, ImageDraw

from media.compositor.fonts import emoji_picture, face, face_for, font_path
from media.text import clusters, is_emoji

EMOJI_EM = 1.0  # an emoji's side, in ems: taller than a capital, and within the tightest line height (1.08)
EMOJI_GAP = 0.08  # room either side of an emoji, in ems
EMOJI_DROP = 0.1  # how far an emoji's picture reaches below the baseline, in ems
# the language a script's text is shaped in, where a font has forms of its own for it: Amiri draws 4, 6 and 7 as Urdu
# writes them only when told the text is Urdu (U+06F4, U+06F6, U+06F7: its default forms are Persian's)
LANGUAGE = {"arabic": "ur"}


@dataclass(frozen=True)
class Run:
    """Consecutive characters set in one font (``font``), or one emoji drawn from its picture (``picture``)."""

    text: str
    font: Path | None = None
    picture: Path | None = None


@lru_cache(maxsize=8192)
def runs(text: str, script: str, role: str) -> tuple[Run, ...]:
    """``text`` cut into runs: each character in the first font that has it, each emoji on its own."""
    primary = font_path(script, role)
    out: list[Run] = []
    for cluster in clusters(text):
        picture = emoji_picture(cluster)
        chosen = None if picture and is_emoji(cluster) else face_for(cluster, script, role)
        if cluster.isspace():  # a space stays with the letters around it, in their font
            chosen = out[-1].font if out and out[-1].font else primary
        elif chosen is None and picture:
            out.append(Run(cluster, picture=picture))
            continue
        chosen = chosen or primary  # unreachable once check_glyphs has passed: the font's box, never a crash
        if out and out[-1].font == chosen:
            out[-1] = Run(out[-1].text + cluster, font=chosen)
        else:
            out.append(Run(cluster, font=chosen))
    return tuple(out)


def emoji_side(size: int) -> int:
    """The side of an emoji's picture next to text of ``size`` pixels."""
    return max(1, round(size * EMOJI_EM))


def width(text: str, *, script: str, role: str, weight: str, size: int, rtl: bool = False) -> float:
    """How wide ``text`` is set at ``size`` (in a right-to-left paragraph when ``rtl``): its runs' advances, an
    emoji counting as a glyph of its own width."""
    direction, language = "rtl" if rtl else "ltr", LANGUAGE.get(script)
    total = 0.0
    for run in runs(text, script, role):
        if run.picture is not None:
            total += emoji_side(size) + 2 * round(size * EMOJI_GAP)
        else:
            assert run.font is not None
            total += face(run.font, weight, size).getlength(run.text, direction=direction, language=language)
    return total


def draw_line(canvas: Image.Image, origin: tuple[float, float], text: str, *, script: str, role: str, weight: str,
              size: int, ascent: int, color: tuple[int, int, int], rtl: bool = False) -> None:
    """Set ``text`` with its left edge and top at ``origin`` (the line's baseline ``ascent`` below the top), in a
    right-to-left paragraph when ``rtl`` (Urdu): its first run at the right end."""
    pen = ImageDraw.Draw(canvas)
    direction, language = "rtl" if rtl else "ltr", LANGUAGE.get(script)
    placed = list(runs(text, script, role))
    x, top = origin
    baseline = top + ascent
    for run in reversed(placed) if rtl else placed:  # right to left: the first run sits at the right end
        if run.picture is not None:
            side, gap = emoji_side(size), round(size * EMOJI_GAP)
            picture = _picture(run.picture, side)
            canvas.paste(picture, (round(x) + gap, round(baseline + size * EMOJI_DROP) - side), picture)
            x += side + 2 * gap
            continue
        assert run.font is not None
        font = face(run.font, weight, size)
        pen.text((x, baseline), run.text, font=font, fill=color, anchor="ls", direction=direction, language=language)
        x += font.getlength(run.text, direction=direction, language=language)


@lru_cache(maxsize=256)
def _picture(path: Path, side: int) -> Image.Image:
    # drawn from its vector at the exact size: crisp at any text size, a few milliseconds each
    png = resvg_py.svg_to_bytes(svg_path=str(path), width=side, height=side, skip_system_fonts=True)
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGBA")
