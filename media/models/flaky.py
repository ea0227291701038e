"""A model that fails or hangs on a fraction of requests: drills for retries, ``generation.failed`` and expiry.

It wraps any ``ImageModel``. Each call draws once: with probability ``failure_rate`` it raises
``ProviderUnavailable`` (a 5xx-like failure the worker retries, and reports as failed once its
attempts run out); with probability ``timeout_rate`` it never answers, so the worker's per-call
timeout fires (``ProviderTimeout``); otherwise the wrapped model renders. Selected by the worker's
settings ``STUDIO_MODEL_FAILURE_RATE`` and ``STUDIO_MODEL_TIMEOUT_RATE`` (both 0 by default).
"""

from __future__ import annotations

import asyncio
import random

from media.costs import provider_for
from media.errors import ProviderUnavailable
from media.model_spec import ModelSpec
from media.ports import ImageModel, ImageRequest, ImageResult


class FlakyModel:
    """An ``ImageModel`` that fails or hangs on a random fraction of calls, and renders with ``inner`` otherwise."""

    def __init__(self, inner: ImageModel, *, failure_rate: float = 0.0, timeout_rate: float = 0.0,
                 rng: random.Random | None = None) -> None:
        if failure_rate < 0 or timeout_rate < 0 or failure_rate + timeout_rate > 1:
            raise ValueError(f"failure and timeout rates must be >= 0 and add up to at most 1, "
                             f"got {failure_rate} and {timeout_rate}")
        self.inner = inner
        self.failure_rate = failure_rate
        self.timeout_rate = timeout_rate
        self.rng = rng or random.Random()  # noqa: S311 (a drill's dice, not a secret)
        self.failed = 0
        self.hung = 0

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Fail, hang until cancelled, or render with the wrapped model."""
        draw = self.rng.random()
        if draw < self.failure_rate:
            self.failed += 1
            raise ProviderUnavailable(f"simulated provider failure for generation {request.generation_id}")
        if draw < self.failure_rate + self.timeout_rate:
            self.hung += 1
            await asyncio.Event().wait()  # never set: only the caller's timeout ends this call
        return await self.inner.generate(request)

    def provider_for(self, spec: ModelSpec) -> str:
        """The provider the wrapped model hands ``spec`` to (the one that would have been charged)."""
        return provider_for(self.inner, spec)

    async def aclose(self) -> None:
        """Close the wrapped model."""
        await self.inner.aclose()
