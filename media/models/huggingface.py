"""Hugging Face Inference through ``huggingface_hub``'s ``InferenceClient.text_to_image``.

The client is synchronous (and its provider helpers look the model up on the Hub with a blocking call), so
each render runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import io
import time

import anyio.to_thread
import httpx2
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError
from PIL import UnidentifiedImageError

from media.errors import (
    ContentRefused,
    InvalidInput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from media.models.http import is_refusal, since
from media.ports import ImageRequest, ImageResult

PARAMETERS = ("num_inference_steps", "guidance_scale", "scheduler")
DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"


def model_for(request: ImageRequest) -> str:
    """The template's Hugging Face model: its own id if it names this provider, else its alternative for it."""
    if request.model.provider == "huggingface":
        return request.model.model_id
    return request.model.alternatives.get("huggingface", DEFAULT_MODEL)


class HuggingFaceModel:
    """Renders with ``text_to_image`` on the template's model, through the configured inference provider."""

    provider = "huggingface"

    def __init__(self, token: str, *, inference_provider: str = "hf-inference", timeout: float = 120.0,
                 model: str | None = None, client: InferenceClient | None = None) -> None:
        self.model = model
        self.client = client or InferenceClient(provider=inference_provider,  # type: ignore[arg-type]
                                                token=token, timeout=timeout)

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render one image and encode it as PNG."""
        start = time.perf_counter()
        model = self.model or model_for(request)
        if request.input_image:
            raise InvalidInput("huggingface text_to_image cannot edit the learner's photo: profile templates need "
                               "the local, replicate or openai provider")
        width, height = request.model_size
        extra = {k: v for k, v in request.model.parameters.items() if k in PARAMETERS}
        try:
            image = await anyio.to_thread.run_sync(lambda: self.client.text_to_image(
                request.prompt.text, negative_prompt=request.prompt.negative or None, width=width, height=height,
                model=model, seed=request.seed, **extra))  # type: ignore[arg-type]
        except InferenceTimeoutError as error:
            raise ProviderTimeout(f"huggingface timed out: {error}") from error
        except HfHubHTTPError as error:
            raise translate(error) from error
        except httpx2.TimeoutException as error:
            raise ProviderTimeout(f"huggingface timed out: {error}") from error
        except httpx2.TransportError as error:
            raise ProviderUnavailable(f"huggingface unreachable: {error}") from error
        except (UnidentifiedImageError, OSError) as error:
            raise InvalidInput(f"huggingface answered with no readable image: {error}") from error
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return ImageResult(data=out.getvalue(), content_type="image/png", provider=self.provider, model=model,
                           seed=request.seed, timings={"model": since(start)})

    async def aclose(self) -> None:
        """Nothing to release: the client shares ``huggingface_hub``'s session."""


def translate(error: HfHubHTTPError) -> ProviderError:
    """The pipeline error for an HTTP error from the Hugging Face router or its inference provider."""
    status = error.response.status_code
    detail = (error.response.text or str(error))[:500]
    message = f"huggingface answered {status}: {detail}"
    if status == 429:
        return RateLimited(message)
    if status >= 500:  # includes 503 while a model is loading: worth another try
        return ProviderUnavailable(message)
    if is_refusal(detail):
        return ContentRefused(message)
    if status in (400, 404, 413, 422):
        return InvalidInput(message)
    return ProviderError(message)  # 401/403: a bad token or a gated model, not fixed by retrying
