"""What the HTTP adapters share: mapping a provider's answer to the pipeline's errors."""

from __future__ import annotations

import base64
import time

import httpx

from media.errors import (
    ContentRefused,
    InvalidInput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from media.ports import ImageRequest

REFUSAL_MARKERS = ("content_policy", "moderation", "safety", "nsfw", "content_filtered", "flagged")


def check_response(provider: str, response: httpx.Response) -> httpx.Response:
    """The response if it succeeded, else the pipeline error that matches its status and body."""
    if response.is_success:
        return response
    detail = response.text[:500]
    message = f"{provider} answered {response.status_code}: {detail}"
    if response.status_code == 429:
        raise RateLimited(message)
    if response.status_code >= 500:
        raise ProviderUnavailable(message)
    if is_refusal(detail):
        raise ContentRefused(message)
    if response.status_code in (400, 404, 413, 415, 422):
        raise InvalidInput(message)
    raise ProviderError(message)


def is_refusal(text: str) -> bool:
    """Whether a provider's message says its content policy refused the request."""
    lowered = text.lower()
    return any(marker in lowered for marker in REFUSAL_MARKERS)


async def send(provider: str, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send ``request``, turning transport failures into retryable pipeline errors."""
    try:
        response = await client.send(request)
    except httpx.TimeoutException as error:
        raise ProviderTimeout(f"{provider} timed out: {error}") from error
    except httpx.TransportError as error:
        raise ProviderUnavailable(f"{provider} unreachable: {error}") from error
    return check_response(provider, response)


def input_photo(request: ImageRequest) -> bytes:
    """The learner's photo, already fetched and checked by the handler (models never fetch input URLs)."""
    if request.input_data is None:
        raise InvalidInput(f"generation {request.generation_id} takes a photo, but none was read")
    return request.input_data


def data_uri(data: bytes) -> str:
    """``data`` (a JPEG, PNG or WebP) as a ``data:`` URI."""
    kind = "image/jpeg" if data[:2] == b"\xff\xd8" else "image/webp" if data[8:12] == b"WEBP" else "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def since(start: float) -> float:
    """Seconds since ``start`` (a ``time.perf_counter()``), rounded to the millisecond."""
    return round(time.perf_counter() - start, 3)
