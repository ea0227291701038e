"""What a generation's model calls cost: the provider's own figure where it reports one, else the template's
configured price per image for the provider that took the call. Every call the provider charges for counts,
also those that ended in a failure (see ``GenerationError.billed``); a call it turned away costs nothing."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from media.errors import GenerationError
from media.model_spec import MAX_PRICE_MICRO_USD, ModelSpec
from media.ports import ImageModel, ImageRequest, ImageResult

# provider: every charged call's cost was the provider's own figure; price: at least one came from the
# template's price; none: no call was charged; unknown: a charged call had neither.
CostSource = Literal["provider", "price", "none", "unknown"]
MAX_CALLS = 1000


class ProviderCost(BaseModel):
    """What one generation's model calls cost at the provider, in micro-dollars (None when unknown)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(max_length=40)
    model: str = Field(max_length=200)
    calls: int = Field(ge=0, le=MAX_CALLS)  # the calls the provider charged for
    micro_usd: int | None = Field(ge=0, le=MAX_CALLS * MAX_PRICE_MICRO_USD)
    source: CostSource


def provider_for(model: object, spec: ModelSpec) -> str:
    """The provider ``model`` hands a request for ``spec`` to: a router says, an adapter is its own."""
    choose = getattr(model, "provider_for", None)
    if callable(choose):
        return str(choose(spec))
    return str(getattr(model, "provider", "") or spec.provider)


class Meter:
    """Adds up what the model calls of one generation cost, call by call."""

    def __init__(self, model: ImageModel, spec: ModelSpec) -> None:
        self.model = model
        self.spec = spec
        self.provider = provider_for(model, spec)
        self.model_id = "pillow" if self.provider == "local" else spec.model_at(self.provider)
        self.calls = 0
        self.micro_usd: int | None = 0
        self.priced = False  # whether any charged call's cost came from the template's price

    async def generate(self, request: ImageRequest) -> ImageResult:
        """One call to the model, counted when the provider charges for it, then its result or error."""
        try:
            result = await self.model.generate(request)
        except GenerationError as error:
            if error.billed:
                self._charge(None)
            raise
        except asyncio.CancelledError:  # the per-call timeout gave up on it: the provider ran it all the same
            self._charge(None)
            raise
        self.provider, self.model_id = result.provider, result.model
        self._charge(result.cost_micro_usd)
        return result

    def _charge(self, reported: int | None) -> None:
        self.calls += 1
        if reported is None:
            self.priced = True
        cost = reported if reported is not None else self.spec.price_for(self.provider)
        self.micro_usd = None if cost is None or self.micro_usd is None else self.micro_usd + cost

    def cost(self) -> ProviderCost:
        """What the calls so far cost."""
        source: CostSource = ("none" if not self.calls else "unknown" if self.micro_usd is None
                              else "price" if self.priced else "provider")
        return ProviderCost(provider=self.provider, model=self.model_id[:200], calls=min(self.calls, MAX_CALLS),
                            micro_usd=self.micro_usd, source=source)
