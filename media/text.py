"""The learner's text: the one rule for control and invisible characters, and counting as a reader counts
(grapheme clusters: "नमस्ते" is 3, a ZWJ family of three is 1)."""

from __future__ import annotations

import unicodedata

import regex

CLUSTER = regex.compile(r"\X")
ZWJ, ZWNJ = "\u200d", "\u200c"
EMOJI_PARTS = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\ufe0f\u20e3]")
PICTOGRAPHIC = regex.compile(r"\p{Extended_Pictographic}")
# emoji by default or by request (VS16), keycaps, flags and skin tones; "©" alone stays a text symbol
PRESENTED = regex.compile(r"[\p{Emoji_Presentation}\p{Emoji_Modifier}\p{Regional_Indicator}\ufe0f\u20e3]")
# scripts whose spelling uses ZWJ / ZWNJ between letters (Indic half forms and conjunct control, Urdu and
# Persian word shapes): a joiner there is part of the word, not an invisible trick
JOINING_SCRIPTS = regex.compile(r"[\p{Devanagari}\p{Bengali}\p{Gurmukhi}\p{Gujarati}\p{Oriya}\p{Tamil}\p{Telugu}"
                                r"\p{Kannada}\p{Malayalam}\p{Arabic}]")
TAG = range(0xE0020, 0xE0080)  # the tags of a subdivision flag (England, Scotland, Wales)
BLACK_FLAG = "\U0001f3f4"


def clusters(text: str) -> list[str]:
    """``text`` as the user-perceived characters (extended grapheme clusters) a reader sees."""
    return CLUSTER.findall(text)


def is_emoji(cluster: str) -> bool:
    """Whether ``cluster`` is shown as an emoji (a picture) rather than a letter or a text symbol."""
    return bool(PRESENTED.search(cluster))


def right_to_left(text: str) -> bool:
    """Whether ``text`` reads right to left as a paragraph: its first strong letter is Urdu's (or Hebrew's)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return kind != "L"
    return False


def length(text: str) -> int:
    """How many characters a learner counts in ``text``: its grapheme clusters."""
    return len(clusters(text))


def clean(text: str) -> str:
    """The one rule for the learner's text: line breaks, tabs, other controls and lone surrogates become spaces
    (then runs of white space one space); format characters (bidi overrides and isolates, direction marks,
    zero-width spaces, soft hyphens, a byte-order mark) are dropped, except a ZWJ inside an emoji sequence, a ZWJ
    or ZWNJ between letters of a script that spells with them, and the tags of a flag. Anything else no font can
    draw (private use, unassigned) is left for the glyph check to refuse by name."""
    kept: list[str] = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp"):  # a lone surrogate is no character: a broken client's
            kept.append(" ")
        elif category != "Cf" or _joins(text, index):
            kept.append(char)
    return " ".join("".join(kept).split())


def _joins(text: str, index: int) -> bool:
    # a format character that is part of what the learner wrote (it changes how the letters or emoji look)
    char = text[index]
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if char == ZWJ and EMOJI_PARTS.match(before) and PICTOGRAPHIC.match(after):
        return True
    if char in (ZWJ, ZWNJ) and JOINING_SCRIPTS.match(before) and JOINING_SCRIPTS.match(after):
        return True
    if ord(char) in TAG:
        start = index
        while start and ord(text[start - 1]) in TAG:
            start -= 1
        return start > 0 and text[start - 1] == BLACK_FLAG
    return False
