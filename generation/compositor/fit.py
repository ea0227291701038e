"""Fitting text into a box: wrap at word boundaries, shrink within the size range, hyphenate long words."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from PIL import ImageFont

from generation.compositor.fonts import font

BREAKS = set("-/_.")
VIRAMAS = {"\u094d", "\u0bcd", "\u0c4d"}  # a break right after one would split a conjunct
LEADING = {"display": 1.08, "text": 1.25}
INDIC_LEADING = 1.3  # matras above and below the line need more room


class TextDoesNotFit(ValueError):
    """Text that does not fit its box even at the smallest size allowed; nothing is clipped instead."""


@dataclass(frozen=True)
class FittedText:
    """Lines of text set at one size, with the font and line height they were measured in."""

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    size: int
    line_height: int
    width: int
    height: int


def fit(text: str, *, script: str, role: str, weight: str, sizes: tuple[int, int], width: int, height: int,
        max_lines: int) -> FittedText:
    """The largest setting of ``text`` within ``sizes`` that fits ``width`` x ``height`` in ``max_lines``."""
    low, high = sizes
    best = _attempt(text, script, role, weight, low, width, height, max_lines)
    if best is None:
        raise TextDoesNotFit(f"{text!r} does not fit {width}x{height} px in {max_lines} line(s) at {low} px")
    while low < high:  # binary search: the largest size that still fits
        middle = (low + high + 1) // 2
        attempt = _attempt(text, script, role, weight, middle, width, height, max_lines)
        if attempt is None:
            high = middle - 1
        else:
            best, low = attempt, middle
    return best


def _attempt(text: str, script: str, role: str, weight: str, size: int, width: int, height: int,
             max_lines: int) -> FittedText | None:
    face = font(script, role, weight, size)
    lines = wrap(text, face, width, _Widths(face))
    if len(lines) > max_lines:
        return None
    ascent, descent = face.getmetrics()
    leading = INDIC_LEADING if script != "latin" else LEADING[role]
    line_height = max(1, round(size * leading))
    total = line_height * (len(lines) - 1) + ascent + descent
    if total > height:
        return None
    widest = max(round(face.getlength(line)) for line in lines)
    return FittedText(tuple(lines), face, size, line_height, widest, total)


class _Widths:
    # Shaping never crosses a space, so a line is as wide as its words and spaces: measure each word once.
    def __init__(self, face: ImageFont.FreeTypeFont) -> None:
        self.face = face
        self.known: dict[str, float] = {}
        self.space = face.getlength(" ")

    def __call__(self, word: str) -> float:
        if word not in self.known:
            self.known[word] = self.face.getlength(word)
        return self.known[word]


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int, widths: _Widths | None = None) -> list[str]:
    """Greedy wrapping at spaces; a word wider than the line is hyphenated across lines."""
    measure = widths or _Widths(face)
    lines: list[str] = []
    current, used = "", 0.0
    for word in text.split():
        extra = measure(word) + (measure.space if current else 0)
        if used + extra <= width:
            current, used = (f"{current} {word}" if current else word), used + extra
            continue
        if current:
            lines.append(current)
        current, used = "", 0.0
        if measure(word) <= width:
            current, used = word, measure(word)
            continue
        pieces = hyphenate(word, face, width)
        lines.extend(pieces[:-1])
        current, used = pieces[-1], measure(pieces[-1])
    if current:
        lines.append(current)
    return lines or [""]


def hyphenate(word: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``word`` cut into pieces that fit ``width``, each but the last ending in a hyphen."""
    pieces: list[str] = []
    rest = word
    while face.getlength(rest) > width:
        natural = [i + 1 for i, c in enumerate(rest[:-1]) if c in BREAKS and face.getlength(rest[:i + 1]) <= width]
        if natural:  # break after a hyphen, slash or dot that is already there, adding nothing
            pieces.append(rest[:natural[-1]])
            rest = rest[natural[-1]:]
            continue
        cut = _longest_prefix(rest, face, width)
        if cut == 0:  # not even one cluster fits: leave it whole, the size search will reject it
            break
        pieces.append(rest[:cut] + "-")
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def _longest_prefix(word: str, face: ImageFont.FreeTypeFont, width: int) -> int:
    best = 0
    for cut in range(1, len(word)):
        if not _can_break(word, cut):
            continue
        if face.getlength(word[:cut] + "-") > width:
            break
        best = cut
    return best


def _can_break(word: str, cut: int) -> bool:
    # never before a combining mark, never after a virama, and leave at least two letters each side
    if cut < 2 or len(word) - cut < 2:
        return False
    return not (unicodedata.category(word[cut])[0] == "M" or word[cut - 1] in VIRAMAS)
