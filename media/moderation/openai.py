"""OpenAI's moderation endpoint (``POST /moderations``) over httpx: every field's text in one call."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from media.moderation import Category, Flag, ModerationUnavailable

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "omni-moderation-latest"
CATEGORIES = {  # OpenAI's category (before any "/subcategory") → ours
    "harassment": Category.HARASSMENT, "hate": Category.HATE, "sexual": Category.SEXUAL,
    "violence": Category.VIOLENCE, "self-harm": Category.SELF_HARM, "illicit": Category.ILLICIT,
}


class OpenAIModerator:
    """Refuses a field OpenAI flags; the rule is ``openai:<category>`` as OpenAI names it."""

    name = "openai"

    def __init__(self, api_key: str, *, base_url: str = OPENAI_URL, model: str = DEFAULT_MODEL,
                 timeout: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def check(self, texts: Mapping[str, str]) -> Flag | None:
        """The first field OpenAI flags, or None; ``ModerationUnavailable`` when it does not answer."""
        fields = list(texts)
        try:
            response = await self.client.post("/moderations", headers=self.headers,
                                              json={"model": self.model, "input": [texts[f] for f in fields]})
        except httpx.HTTPError as error:
            raise ModerationUnavailable(f"openai moderation unreachable: {error}") from error
        if not response.is_success:
            raise ModerationUnavailable(f"openai moderation answered {response.status_code}: {response.text[:300]}")
        try:
            results = response.json()["results"]
            assert isinstance(results, list) and len(results) == len(fields)
        except (ValueError, KeyError, TypeError, AssertionError) as error:
            raise ModerationUnavailable(f"openai moderation answered no results: {response.text[:300]}") from error
        for field, result in zip(fields, results, strict=True):
            if result.get("flagged"):
                return Flag(field=field, category=category_of(result), rule=f"openai:{top_category(result)}")
        return None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


def top_category(result: dict[str, object]) -> str:
    """The flagged category OpenAI scores highest (its own name, e.g. ``harassment/threatening``)."""
    flagged = [name for name, on in dict(result.get("categories") or {}).items() if on]  # type: ignore[call-overload]
    scores = dict(result.get("category_scores") or {})  # type: ignore[call-overload]
    return max(flagged, key=lambda name: float(scores.get(name, 0.0)), default="flagged")


def category_of(result: dict[str, object]) -> Category:
    """Our category for OpenAI's highest flagged one (harassment when it names one we do not know)."""
    return CATEGORIES.get(top_category(result).split("/")[0], Category.HARASSMENT)
