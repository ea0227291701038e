"""Fonts by script and role, from the Noto font packages, and the check that every character has a glyph."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont, features

# (package, file) per script and role; the packages are dependencies of the project, never files in the repo
FONTS: dict[str, dict[str, tuple[str, str]]] = {
    "latin": {"display": ("fontpkg_noto_sans_display", "NotoSansDisplay[wdth,wght].ttf"),
              "text": ("fontpkg_noto_sans", "NotoSans[wdth,wght].ttf")},
    "devanagari": {"display": ("fontpkg_noto_sans_devanagari", "NotoSansDevanagari[wdth,wght].ttf"),
                   "text": ("fontpkg_noto_sans_devanagari", "NotoSansDevanagari[wdth,wght].ttf")},
    "tamil": {"display": ("fontpkg_noto_sans_tamil", "NotoSansTamil[wdth,wght].ttf"),
              "text": ("fontpkg_noto_sans_tamil", "NotoSansTamil[wdth,wght].ttf")},
    "telugu": {"display": ("fontpkg_noto_sans_telugu", "NotoSansTelugu[wdth,wght].ttf"),
               "text": ("fontpkg_noto_sans_telugu", "NotoSansTelugu[wdth,wght].ttf")},
}
WEIGHTS = {"regular": 400, "medium": 500, "semibold": 600, "bold": 700, "black": 900}
SCRIPT_RANGES = {"devanagari": (0x0900, 0x097F), "tamil": (0x0B80, 0x0BFF), "telugu": (0x0C00, 0x0C7F)}
# characters shaping may use that need no glyph of their own
INVISIBLE = {"\u200c", "\u200d", "\u200b", "\ufe0f"}


class MissingGlyph(ValueError):
    """A character the chosen font cannot draw: setting it would print a box (tofu)."""

    def __init__(self, text: str, missing: list[str], font: str) -> None:
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
        super().__init__(f"the font {font} has no glyph for {shown} in {text!r}")
        self.text = text
        self.missing = missing


def script_of(text: str) -> str:
    """The Indian script ``text`` is written in (by its first such letter), else ``latin``."""
    for char in text:
        for script, (low, high) in SCRIPT_RANGES.items():
            if low <= ord(char) <= high:
                return script
    return "latin"


def font_path(script: str, role: str) -> Path:
    """The installed font file for ``script`` and ``role``."""
    package, name = FONTS[script][role]
    return Path(str(resources.files(package).joinpath("files", name)))


@lru_cache(maxsize=16)
def coverage(path: Path) -> frozenset[int]:
    """Every code point the font at ``path`` maps to a glyph."""
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def missing_glyphs(text: str, path: Path) -> list[str]:
    """The characters of ``text`` that the font at ``path`` has no glyph for (spaces and joiners need none)."""
    covered = coverage(path)
    return sorted({c for c in text if ord(c) not in covered and c not in INVISIBLE
                   and unicodedata.category(c) != "Zs"})


def check_glyphs(text: str, script: str, role: str) -> None:
    """Raise ``MissingGlyph`` if any character of ``text`` has no glyph in the font for ``script`` and ``role``."""
    path = font_path(script, role)
    missing = missing_glyphs(text, path)
    if missing:
        raise MissingGlyph(text, missing, path.name)


@lru_cache(maxsize=256)
def font(script: str, role: str, weight: str, size: int) -> ImageFont.FreeTypeFont:
    """The font for ``script`` and ``role`` at ``size`` pixels and ``weight``, shaped by raqm."""
    loaded = ImageFont.truetype(str(font_path(script, role)), size, layout_engine=ImageFont.Layout.RAQM)
    axes = loaded.get_variation_axes()
    values = [float(WEIGHTS[weight]) if _axis_name(axis) in {"weight", "wght"} else float(axis["default"] or 0)
              for axis in axes]
    loaded.set_variation_by_axes(values)
    return loaded


def shaping_available() -> bool:
    """Whether Pillow has raqm (complex-script shaping); Devanagari and Tamil need it."""
    return bool(features.check("raqm"))


def _axis_name(axis: object) -> str:
    name = axis["name"] if isinstance(axis, dict) else ""
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    return str(name).strip().lower()
