"""OpenAI's Images API over httpx: generations, and edits when the template takes a photo."""

from __future__ import annotations

import base64
import time

import httpx

from media.errors import InvalidInput
from media.models.http import input_photo, send, since
from media.ports import ImageRequest, ImageResult

OPENAI_URL = "https://api.openai.com/v1"


def openai_size(aspect_ratio: str) -> str:
    """The nearest size the Images API offers for an aspect ratio."""
    width, height = (int(p) for p in aspect_ratio.split(":"))
    if width == height:
        return "1024x1024"
    return "1536x1024" if width > height else "1024x1536"


class OpenAIModel:
    """Renders through ``POST /images/generations`` (or ``/images/edits`` with an input image)."""

    provider = "openai"

    def __init__(self, api_key: str, *, base_url: str = OPENAI_URL, timeout: float = 120.0,
                 model: str | None = None, client: httpx.AsyncClient | None = None) -> None:
        self.model = model
        self.client = client or httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"})

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render one image and decode its base64 payload."""
        start = time.perf_counter()
        model = self.model or request.model.model_id
        fields: dict[str, str | int | float | bool] = {
            **request.model.parameters, "model": model, "prompt": request.prompt.text, "n": 1,
            "size": openai_size(request.aspect_ratio),
        }
        if request.input_image:
            photo = input_photo(request)
            form = {k: (None, str(v).encode()) for k, v in fields.items()}
            http_request = self.client.build_request(
                "POST", "/images/edits", files={**form, "image": ("input.png", photo, "image/png")})
        else:
            http_request = self.client.build_request("POST", "/images/generations", json=fields)
        body = (await send(self.provider, self.client, http_request)).json()
        try:
            data = base64.b64decode(body["data"][0]["b64_json"])
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise InvalidInput(f"openai answered without an image: {str(body)[:300]}") from error
        return ImageResult(data=data, content_type="image/png", provider=self.provider, model=model,
                           seed=None, timings={"model": since(start)})

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
