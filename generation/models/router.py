"""Choosing the model per template: each request goes to the adapter of its template's provider."""

from __future__ import annotations

from collections.abc import Mapping

from generation.errors import ConfigError
from generation.ports import ImageModel, ImageRequest, ImageResult


class ModelRouter:
    """An ``ImageModel`` that hands each request to the adapter its template names."""

    def __init__(self, models: Mapping[str, ImageModel]) -> None:
        self.models = dict(models)

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render with the template's provider."""
        provider = request.model.provider
        if provider not in self.models:
            raise ConfigError(f"template provider {provider!r} is not enabled (STUDIO_TEMPLATE_PROVIDERS)")
        return await self.models[provider].generate(request)

    async def aclose(self) -> None:
        """Close every adapter."""
        for model in self.models.values():
            await model.aclose()
