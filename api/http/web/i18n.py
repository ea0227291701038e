"""The page's strings in English and Hindi, from one catalogue (``messages.toml``), and the language choice."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

LANGUAGES = ("en", "hi")
LOCALES = {"en": "en-IN", "hi": "hi-IN"}  # numbers, dates and prices as learners in India write them
CATALOGUE = Path(__file__).with_name("messages.toml")


class CatalogueError(ValueError):
    """The catalogue is missing a language for a message, or has one it should not."""


def load_catalogue(path: Path = CATALOGUE) -> dict[str, dict[str, str]]:
    """Messages by language, after checking that every message has every language and nothing else."""
    with path.open("rb") as file:
        raw = tomllib.load(file)
    messages: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for key, texts in raw.items():
        if not isinstance(texts, dict) or sorted(texts) != sorted(LANGUAGES):
            raise CatalogueError(f"{path.name}: message {key!r} needs exactly {', '.join(LANGUAGES)}")
        for lang, text in texts.items():
            if not isinstance(text, str) or not text.strip():
                raise CatalogueError(f"{path.name}: message {key!r} has no {lang} text")
            messages[lang][key] = text
    return messages


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """``?lang=`` if it names a language we have, else the browser's first one we have, else English."""
    if requested in LANGUAGES:
        return requested
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, index, tag.split("-")[0].lower()))
    for _, _, lang in sorted(ranked):
        if lang in LANGUAGES:
            return lang
    return "en"


class Translator:
    """``t(key, **values)`` for one language; a missing key is an error, never a blank on the page."""

    def __init__(self, messages: Mapping[str, str]) -> None:
        self.messages = messages

    def __call__(self, key: str, **values: object) -> str:
        """The message ``key`` with ``{name}`` placeholders filled."""
        text = self.messages[key]
        return text.format(**values) if values else text
