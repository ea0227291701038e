"""Choosing the model per template: each request goes to the adapter of its template's provider."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from generation.errors import ConfigError
from generation.ports import ImageModel, ImageRequest, ImageResult


class ModelRouter:
    """An ``ImageModel`` that hands each request to the adapter its template names."""

    def __init__(self, models: Mapping[str, ImageModel]) -> None:
        self.models = dict(models)

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render with the template's provider, else the first of its alternatives (in their order) enabled here."""
        spec = request.model
        for provider, model_id in ((spec.provider, spec.model_id), *spec.alternatives.items()):
            if provider in self.models:
                if provider != spec.provider:
                    moved = spec.model_copy(update={"provider": provider, "model_id": model_id})
                    request = dataclasses.replace(request, model=moved)
                return await self.models[provider].generate(request)
        raise ConfigError(f"template provider {spec.provider!r} is not enabled, nor any of its alternatives "
                          f"{list(spec.alternatives)} (STUDIO_TEMPLATE_PROVIDERS)")

    async def aclose(self) -> None:
        """Close every adapter."""
        for model in self.models.values():
            await model.aclose()
