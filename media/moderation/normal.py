"""Words reduced to a skeleton, so the usual evasions meet the listed word: case and width, accents,
look-alike letters from other scripts, leetspeak, repeated letters, letters spaced or dotted apart, and
the Devanagari spellings that sound the same (nukta, long and short vowels, nasal marks)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

HOMOGLYPHS = str.maketrans({  # Cyrillic, Greek and other letters drawn like Latin ones (escaped: they look alike)
    "\u0430": "a", "\u03b1": "a", "\u0432": "b", "\u03b2": "b", "\u0441": "c", "\u0501": "d", "\u0435": "e",
    "\u0451": "e", "\u03b5": "e", "\u0192": "f", "\u0261": "g", "\u0581": "g", "\u043d": "h", "\u0456": "i",
    "\u0457": "i", "\u03b9": "i", "\u0458": "j", "\u043a": "k", "\u03ba": "k", "\u04cf": "l", "\u043c": "m",
    "\u03b7": "n", "\u043e": "o", "\u03bf": "o", "\u0440": "p", "\u03c1": "p", "\u0455": "s", "\u00df": "ss",
    "\u0442": "t", "\u03c4": "t", "\u03c5": "u", "\u03bd": "v", "\u03c9": "w", "\u0445": "x", "\u03c7": "x",
    "\u0443": "y",
})
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g",
                      "@": "a", "$": "s", "!": "i", "|": "i", "+": "t", "€": "e", "¡": "i"})
LEET_SYMBOLS = frozenset("@$!|+€¡")
# One spelling for letters a Latin skeleton confuses anyway (l, 1 and i look alike once leetspeak is undone).
LATIN_SKELETON = str.maketrans({"l": "i"})
DEVANAGARI = str.maketrans({
    "\u093c": None,  # nukta: ड़ and ड are one letter to a reader of a poster
    "\u200c": None, "\u200d": None,  # zero-width (non-)joiners change no letter
    "\u0901": "\u0902",  # chandrabindu → anusvara
    "\u0940": "\u093f", "\u0942": "\u0941",  # long ī, ū → short i, u (the usual misspelling)
    "\u0908": "\u0907", "\u090a": "\u0909",
})
MAX_JOINED = 4  # words joined back together: "fu ck", "madar chod", "behen ke lode"


def skeleton(word: str) -> str:
    """One word's comparable form (the same function reads the lists and the learner's text)."""
    word = unicodedata.normalize("NFKC", word).casefold().translate(HOMOGLYPHS)
    if any("a" <= c <= "z" for c in word):
        word = word.translate(LEET)
    word = _strip_latin_accents(word).translate(LATIN_SKELETON).translate(DEVANAGARI)
    return _collapse(word)


def tokens(text: str) -> list[str]:
    """The words of ``text``, as skeletons; a run of single letters ("f u c k", "f.u.c.k") becomes one word."""
    words: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFKC", text):
        category = unicodedata.category(char)
        if category[0] in "LMN" or char in LEET_SYMBOLS or char in "\u200c\u200d":
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    joined: list[str] = []
    run = ""  # single letters read one after another
    for word in (skeleton(w) for w in words):
        if len(word) == 1:
            run += word
            continue
        if run:
            joined.append(_collapse(run))
            run = ""
        if word:
            joined.append(word)
    if run:
        joined.append(_collapse(run))
    return joined


def candidates(text: str) -> Iterator[str]:
    """Every word of ``text`` and every run of up to ``MAX_JOINED`` neighbouring words written together."""
    words = tokens(text)
    for start in range(len(words)):
        for end in range(start + 1, min(start + MAX_JOINED, len(words)) + 1):
            yield _collapse("".join(words[start:end]))


def _strip_latin_accents(word: str) -> str:
    out: list[str] = []
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.category(char) == "Mn" and out and "a" <= out[-1] <= "z":
            continue  # an accent on a Latin letter: "fück" is "fuck"; Devanagari signs stay
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _collapse(word: str) -> str:
    # Repeated letters count once, in the lists and the text alike: "fuuuck", "shiiit", "चूूतिया".
    return "".join(c for i, c in enumerate(word) if i == 0 or c != word[i - 1])
