"""Fitting text into a box: wrap at word boundaries, shrink within the size range, hyphenate long words."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageFont

from media.compositor import runs
from media.compositor.fonts import font
from media.text import clusters, right_to_left

BREAKS = set("-/_.")
# a break right after one would split a conjunct: Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu,
# Kannada, Malayalam
VIRAMAS = {"\u094d", "\u09cd", "\u0a4d", "\u0acd", "\u0b4d", "\u0bcd", "\u0c4d", "\u0ccd", "\u0d4d"}
LEADING = {"display": 1.08, "text": 1.25}
INDIC_LEADING = 1.3  # matras above and below the line need more room
# Amiri sets Urdu (Naskh): ج reaches 0.56 em below the baseline and a mark stacked over ی (اعلیٰ) 1.19 em above it,
# past the font's own ascent (1.12 em). Its lines go at the font's own spacing (ascent + descent, 1.76 em) so no
# letter touches the line above, and the box reaches 1.2 em above the first baseline
NASKH = {"arabic": (1.76, 1.2)}  # script: (line height, reach above the baseline), in ems
REFERENCE = 100  # the size words are shaped at, then scaled


class TextDoesNotFit(ValueError):
    """Text that does not fit its box even at the smallest size allowed; nothing is clipped instead."""


@dataclass(frozen=True)
class FittedText:
    """Lines of text set at one size, with the font and line height they were measured in."""

    text: str
    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont  # the script's own font, whose metrics space the lines
    size: int
    ascent: int  # from the top of the box to the first baseline
    line_height: int
    width: int
    height: int


def fit(text: str, *, script: str, role: str, weight: str, sizes: tuple[int, int], width: int, height: int,
        max_lines: int) -> FittedText:
    """The largest setting of ``text`` within ``sizes`` that fits ``width`` x ``height`` in ``max_lines``."""
    rtl = right_to_left(text)
    widths = _Widths(script, role, weight, rtl)
    low, high = sizes
    if _lines(text, widths, low, width, height, max_lines, script, role) is None:
        raise TextDoesNotFit(f"{text!r} does not fit {width}x{height} px in {max_lines} line(s) at {low} px")
    while low < high:  # binary search on scaled widths: the largest size that still fits
        middle = (low + high + 1) // 2
        if _lines(text, widths, middle, width, height, max_lines, script, role) is None:
            high = middle - 1
        else:
            low = middle
    for size in range(low, sizes[0] - 1, -1):  # set it for real: shaped at its own size, it must still fit
        lines = _lines(text, widths, size, width, height, max_lines, script, role)
        if lines is None:
            continue
        face = font(script, role, weight, size)
        widest = max(round(runs.width(line, script=script, role=role, weight=weight, size=size, rtl=rtl))
                     for line in lines)
        if widest <= width:
            ascent, descent = _reach(face, size, script)
            line_height = _line_height(size, script, role)
            total = line_height * (len(lines) - 1) + ascent + descent
            if total <= height:
                return FittedText(text, tuple(lines), face, size, ascent, line_height, widest, total)
    raise TextDoesNotFit(f"{text!r} does not fit {width}x{height} px in {max_lines} line(s) at {sizes[0]} px")


def _line_height(size: int, script: str, role: str) -> int:
    if script in NASKH:
        return max(1, round(size * NASKH[script][0]))
    return max(1, round(size * (INDIC_LEADING if script != "latin" else LEADING[role])))


def _reach(face: ImageFont.FreeTypeFont, size: int, script: str) -> tuple[int, int]:
    # how far a line's letters reach above and below its baseline: the font's own ascent and descent, or more
    ascent, descent = face.getmetrics()
    if script in NASKH:
        ascent = max(ascent, math.ceil(size * NASKH[script][1]))
    return ascent, descent


def _lines(text: str, widths: _Widths, size: int, width: int, height: int, max_lines: int, script: str,
           role: str) -> list[str] | None:
    widths.scale = size / REFERENCE
    lines = wrap(text, widths, width)
    if len(lines) > max_lines:
        return None
    total = _line_height(size, script, role) * (len(lines) - 1) + round(widths.extent * widths.scale)
    return lines if total <= height else None


class _Widths:
    # Advances grow in proportion to the size, and shaping never crosses a space: shape each word once, at a
    # reference size, and scale (complex scripts cost milliseconds per shaping call).
    def __init__(self, script: str, role: str, weight: str, rtl: bool) -> None:
        self.setting = (script, role, weight)
        self.rtl = rtl
        self.face = font(script, role, weight, REFERENCE)
        ascent, descent = _reach(self.face, REFERENCE, script)
        self.extent = ascent + descent
        self.known: dict[str, float] = {}
        self.reference_space = self.face.getlength(" ")
        self.scale = 1.0

    @property
    def space(self) -> float:
        return self.reference_space * self.scale

    def __call__(self, word: str) -> float:
        if word not in self.known:
            script, role, weight = self.setting
            self.known[word] = runs.width(word, script=script, role=role, weight=weight, size=REFERENCE,
                                          rtl=self.rtl)
        return self.known[word] * self.scale


def wrap(text: str, measure: _Widths, width: int) -> list[str]:
    """Greedy wrapping at spaces; a word wider than the line is hyphenated across lines."""
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
        pieces = hyphenate(word, measure, width)
        lines.extend(pieces[:-1])
        current, used = pieces[-1], measure(pieces[-1])
    if current:
        lines.append(current)
    return lines or [""]


def hyphenate(word: str, measure: Callable[[str], float], width: int) -> list[str]:
    """``word`` cut into pieces that fit ``width``, each but the last ending in a hyphen (or a break it had)."""
    pieces: list[str] = []
    rest = word
    while measure(rest) > width:
        natural = [i + 1 for i, c in enumerate(rest[:-1]) if c in BREAKS and measure(rest[:i + 1]) <= width]
        if natural:  # break after a hyphen, slash or dot that is already there, adding nothing
            pieces.append(rest[:natural[-1]])
            rest = rest[natural[-1]:]
            continue
        cut = _longest_prefix(rest, measure, width)
        if cut == 0:  # not even one cluster fits: leave it whole, the size search will reject it
            break
        pieces.append(rest[:cut] + "-")
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def _longest_prefix(word: str, measure: Callable[[str], float], width: int) -> int:
    best = 0
    for cut in range(1, len(word)):
        if not _can_break(word, cut):
            continue
        if measure(word[:cut] + "-") > width:
            break
        best = cut
    return best


def _can_break(word: str, cut: int) -> bool:
    # never before a combining mark, never after a virama, never inside a grapheme cluster (an emoji sequence,
    # a flag), and leave at least two letters each side
    if cut < 2 or len(word) - cut < 2:
        return False
    if unicodedata.category(word[cut])[0] == "M" or word[cut - 1] in VIRAMAS:
        return False
    return cut in _boundaries(word)


@lru_cache(maxsize=1024)
def _boundaries(word: str) -> frozenset[int]:
    # where one grapheme cluster ends and the next begins
    ends, at = [], 0
    for cluster in clusters(word):
        at += len(cluster)
        ends.append(at)
    return frozenset(ends)
