"""Moderation: the learner's words checked before any credit is held, by the local word lists and,
when configured, a provider's classifier. A refusal names the field, the kind of words and the rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from media.errors import GenerationError


class Category(StrEnum):
    """The kinds of words refused; the page says each in the learner's language."""

    PROFANITY = "profanity"
    HATE = "hate"
    HARASSMENT = "harassment"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    SELF_HARM = "self_harm"
    ILLICIT = "illicit"


@dataclass(frozen=True)
class Flag:
    """One field's words refused: which field, what kind, and the rule that fired (for the metrics)."""

    field: str
    category: Category
    rule: str


class ModerationUnavailable(GenerationError):
    """A moderation provider that did not answer; nothing is held while the words are unchecked."""

    reason = "moderation_unavailable"
    retryable = True


class Moderator(Protocol):
    """Checks a request's texts, by field name; the first field refused, or None when all may be used."""

    name: str

    async def check(self, texts: Mapping[str, str]) -> Flag | None:
        """The first of ``texts`` refused, or None; ``ModerationUnavailable`` when it cannot tell."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class Chain:
    """Moderators asked in turn (the local lists first: free and instant), the first refusal winning."""

    name = "chain"

    def __init__(self, moderators: Sequence[Moderator]) -> None:
        self.moderators = tuple(moderators)

    async def check(self, texts: Mapping[str, str]) -> Flag | None:
        """The first refusal of any moderator, or None."""
        texts = {field: text for field, text in texts.items() if text.strip()}
        if not texts:
            return None
        for moderator in self.moderators:
            flag = await moderator.check(texts)
            if flag is not None:
                return flag
        return None

    async def aclose(self) -> None:
        """Close every moderator."""
        for moderator in self.moderators:
            await moderator.aclose()
