"""A Hugging Face text-classification model as a moderator, through ``huggingface_hub``'s ``InferenceClient``.

The client is synchronous, so each field is classified in a worker thread of the moderation lane, never on
the event loop. The default model is multilingual (Hindi among its languages) and labels a text ``toxic``
or ``neutral``; another model names its own labels (``STUDIO_MODERATION_HUGGINGFACE_LABELS``).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx2
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

from media.moderation import Category, Flag, ModerationUnavailable
from media.threads import Lane

DEFAULT_MODEL = "textdetox/xlmr-large-toxicity-classifier"
CATEGORIES = {  # labels of the common toxicity models (Jigsaw's among them) → ours
    "obscene": Category.PROFANITY, "identity_hate": Category.HATE, "threat": Category.VIOLENCE,
    "sexual_explicit": Category.SEXUAL,
}


class HuggingFaceModerator:
    """Refuses a field whose unsafe label scores ``threshold`` or more; the rule is ``huggingface:<label>``."""

    name = "huggingface"

    def __init__(self, token: str, *, model: str = DEFAULT_MODEL, labels: tuple[str, ...] = ("toxic",),
                 threshold: float = 0.5, inference_provider: str = "hf-inference", timeout: float = 10.0,
                 lane: Lane | None = None, client: InferenceClient | None = None) -> None:
        self.model = model
        self.labels = frozenset(label.casefold() for label in labels)
        self.threshold = threshold
        self.lane = lane or Lane("moderation", 4)
        self.client = client or InferenceClient(provider=inference_provider,  # type: ignore[arg-type]
                                                token=token, timeout=timeout)

    async def check(self, texts: Mapping[str, str]) -> Flag | None:
        """The first field the model labels unsafe, or None; ``ModerationUnavailable`` when it does not answer."""
        for field, text in texts.items():
            scores = await self.lane.run(self._classify, text)
            unsafe = [(score, label) for label, score in scores.items() if label in self.labels
                      and score >= self.threshold]
            if unsafe:
                _, label = max(unsafe)
                return Flag(field=field, category=CATEGORIES.get(label, Category.HARASSMENT),
                            rule=f"huggingface:{label}")
        return None

    def _classify(self, text: str) -> dict[str, float]:
        try:
            found = self.client.text_classification(text, model=self.model, top_k=len(self.labels) + 8)
        except InferenceTimeoutError as error:
            raise ModerationUnavailable(f"huggingface moderation timed out: {error}") from error
        except HfHubHTTPError as error:
            status = error.response.status_code
            raise ModerationUnavailable(f"huggingface moderation answered {status}: "
                                        f"{(error.response.text or str(error))[:300]}") from error
        except httpx2.HTTPError as error:
            raise ModerationUnavailable(f"huggingface moderation unreachable: {error}") from error
        except (ValueError, TypeError, KeyError, IndexError) as error:  # an answer that is not a list of labels
            raise ModerationUnavailable(f"huggingface moderation answered no labels: {error}") from error
        return {element.label.casefold(): float(element.score) for element in found}

    async def aclose(self) -> None:
        """Nothing to release: the client shares ``huggingface_hub``'s session."""
