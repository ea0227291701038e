"""Replicate through its own async client: text-to-image, or image editing with the learner's photo."""

from __future__ import annotations

import time
from typing import Any

import httpx
from replicate.client import Client
from replicate.exceptions import ModelError, ReplicateError
from replicate.helpers import FileOutput

from media.errors import (
    ContentRefused,
    InvalidInput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from media.models.http import data_uri, input_photo, is_refusal, since
from media.ports import ImageRequest, ImageResult


class ReplicateModel:
    """Runs a Replicate model and reads its file output."""

    provider = "replicate"

    def __init__(self, api_token: str, *, timeout: float = 120.0, model: str | None = None,
                 edit_model: str | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 base_url: str | None = None) -> None:
        self.model = model
        self.edit_model = edit_model
        extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self.client = Client(api_token=api_token, base_url=base_url,
                                       timeout=httpx.Timeout(timeout, connect=10.0), **extra)

    def inputs(self, request: ImageRequest) -> dict[str, Any]:
        """The model input for ``request``, in the shape FLUX-style models take."""
        data: dict[str, Any] = {**request.model.parameters, "prompt": request.prompt.text,
                                "aspect_ratio": request.aspect_ratio, "seed": request.seed}
        if request.input_image:
            data["input_image"] = data_uri(input_photo(request))  # the bytes we checked, not a URL to fetch
            data["aspect_ratio"] = "match_input_image"
        return data

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Run the prediction (waiting for it) and read the first output file."""
        start = time.perf_counter()
        model = (self.edit_model if request.input_image else self.model) or request.model.model_id
        try:
            output = await self.client.async_run(model, input=self.inputs(request))
            if isinstance(output, list):
                output = output[0] if output else None
            if not isinstance(output, FileOutput):
                raise InvalidInput(f"replicate model {model} returned no file: {str(output)[:200]}")
            data = await output.aread()
        except ModelError as error:
            message = str(error.prediction.error or error)
            if is_refusal(message):
                raise ContentRefused(f"replicate refused: {message}") from error
            raise ProviderError(f"replicate prediction failed: {message}") from error
        except ReplicateError as error:
            raise _translate(error) from error
        except httpx.TimeoutException as error:
            raise ProviderTimeout(f"replicate timed out: {error}") from error
        except httpx.TransportError as error:
            raise ProviderUnavailable(f"replicate unreachable: {error}") from error
        return ImageResult(data=data, content_type="image/png", provider=self.provider, model=model,
                           seed=request.seed, timings={"model": since(start)})

    async def aclose(self) -> None:
        """Close the client's HTTP connections."""
        await self.client._async_client.aclose()


def _translate(error: ReplicateError) -> ProviderError:
    message = f"replicate answered {error.status}: {error.detail or error.title}"
    status = error.status or 0
    if status == 429:
        return RateLimited(message)
    if status >= 500:
        return ProviderUnavailable(message)
    if is_refusal(message):
        return ContentRefused(message)
    if status in (400, 404, 422):
        return InvalidInput(message)
    return ProviderError(message)
