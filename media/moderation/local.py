"""The local moderator: word lists in English, Hindi (Devanagari) and romanised Hindi, matched on whole
words after the usual evasions are undone (``normal.skeleton``), so "class" never trips on "ass"."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from media.moderation import Category, Flag
from media.moderation.normal import candidates, skeleton

SHIPPED = Path(__file__).with_name("words.toml")


class WordListError(ValueError):
    """A word list file that cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Entry:
    """One listed word: its skeleton, whether longer words starting with it match too, and its rule."""

    key: str
    prefix: bool
    category: Category
    rule: str


class LocalModerator:
    """Refuses a text holding a listed word; the rule is ``local:<list>:<category>``."""

    name = "local"

    def __init__(self, entries: list[Entry]) -> None:
        self.exact = {e.key: e for e in entries if not e.prefix}
        self.prefixes = sorted((e for e in entries if e.prefix), key=lambda e: -len(e.key))

    @classmethod
    def from_file(cls, path: Path | None = None) -> LocalModerator:
        """The moderator of the lists in ``path`` (the shipped ``words.toml`` when None)."""
        return cls(read_lists(path or SHIPPED))

    async def check(self, texts: Mapping[str, str]) -> Flag | None:
        """The first field holding a listed word, or None."""
        for field, text in texts.items():
            entry = self.match(text)
            if entry is not None:
                return Flag(field=field, category=entry.category, rule=entry.rule)
        return None

    def match(self, text: str) -> Entry | None:
        """The listed word ``text`` holds, or None."""
        for candidate in candidates(text):
            found = self.exact.get(candidate)
            if found is not None:
                return found
            for entry in self.prefixes:
                if candidate.startswith(entry.key):
                    return entry
        return None

    async def aclose(self) -> None:
        """Nothing to release."""


def read_lists(path: Path) -> list[Entry]:
    """Every word of the lists in ``path``: a TOML table per list, an array of words per category; a word
    ending in ``*`` also matches the longer words that begin with it."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise WordListError(f"moderation word list {path}: {error}") from error
    entries: list[Entry] = []
    for list_name, categories in tables.items():
        if not isinstance(categories, dict):
            raise WordListError(f"moderation word list {path}: [{list_name}] must be a table of categories")
        for category, words in categories.items():
            if category not in Category.__members__.values():
                raise WordListError(f"moderation word list {path}: [{list_name}] {category} is not one of "
                                    f"{', '.join(Category)}")
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip("* ") for w in words):
                raise WordListError(f"moderation word list {path}: [{list_name}] {category} must be a list of words")
            for word in words:
                key = skeleton("".join(word.rstrip("*").split()))
                if len(key) < 3:  # two letters match too much once evasions are undone
                    raise WordListError(f"moderation word list {path}: [{list_name}] {word!r} is too short")
                entries.append(Entry(key=key, prefix=word.endswith("*"), category=Category(category),
                                     rule=f"local:{list_name}:{category}"))
    if not entries:
        raise WordListError(f"moderation word list {path}: no words")
    return entries
