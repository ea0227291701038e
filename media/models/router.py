"""Choosing the model per template: each request goes to the adapter of its template's provider."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from media.errors import ConfigError
from media.model_spec import ModelSpec
from media.ports import ImageModel, ImageRequest, ImageResult


class ModelRouter:
    """An ``ImageModel`` that hands each request to the adapter its template names."""

    def __init__(self, models: Mapping[str, ImageModel]) -> None:
        self.models = dict(models)

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render with the template's provider, else the first of its alternatives (in their order) enabled here."""
        spec = request.model
        provider = self.provider_for(spec)
        if provider not in self.models:
            raise ConfigError(f"template provider {spec.provider!r} is not enabled, nor any of its alternatives "
                              f"{list(spec.alternatives)} (STUDIO_TEMPLATE_PROVIDERS)")
        if provider != spec.provider:
            moved = spec.model_copy(update={"provider": provider, "model_id": spec.alternatives[provider]})
            request = dataclasses.replace(request, model=moved)
        return await self.models[provider].generate(request)

    def provider_for(self, spec: ModelSpec) -> str:
        """The template's provider if enabled here, else the first of its alternatives that is (else its own)."""
        return next((p for p in (spec.provider, *spec.alternatives) if p in self.models), spec.provider)

    async def aclose(self) -> None:
        """Close every adapter."""
        for model in self.models.values():
            await model.aclose()
