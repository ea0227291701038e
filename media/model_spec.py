"""Which image model renders a template, with which parameters, and what one image costs at each provider."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Provider = Literal["local", "replicate", "openai", "stability", "cog", "huggingface"]
MAX_PRICE_MICRO_USD = 10_000_000  # USD 10 per image: far above any published price, so a typo is caught


class ModelSpec(BaseModel):
    """Which image model renders a template, and with which parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider
    model_id: str = Field(min_length=1)
    parameters: dict[str, str | int | float | bool] = {}
    alternatives: dict[str, str] = {}  # the model id to use on another provider, e.g. huggingface
    # What one image costs at each provider, in micro-dollars (USD 0.003 is 3000), as the provider publishes
    # it; a provider not named here has an unknown price, except ``local``, which costs nothing.
    prices: dict[Provider, Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE_MICRO_USD)]] = {}

    def price_for(self, provider: str) -> int | None:
        """Micro-dollars per image at ``provider`` (0 on ``local``); None when no price is configured."""
        if provider == "local":
            return 0
        return next((price for name, price in self.prices.items() if name == provider), None)

    def model_at(self, provider: str) -> str:
        """The model id this template asks ``provider`` for."""
        return self.model_id if provider == self.provider else self.alternatives.get(provider, self.model_id)
