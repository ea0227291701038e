"""Stability AI's Stable Image API over httpx (``/v2beta/stable-image/generate/...``)."""

from __future__ import annotations

import time

import httpx

from media.errors import ContentRefused
from media.models.http import input_photo, send, since
from media.ports import ImageRequest, ImageResult

STABILITY_URL = "https://api.stability.ai"


def endpoint(model: str) -> str:
    """The generate endpoint that serves ``model`` (sd3.5-* on ``sd3``, else by name)."""
    if model.startswith("sd3"):
        return "/v2beta/stable-image/generate/sd3"
    return f"/v2beta/stable-image/generate/{model}"  # "core", "ultra"


class StabilityModel:
    """Renders through a multipart POST that answers with the image bytes."""

    provider = "stability"

    def __init__(self, api_key: str, *, base_url: str = STABILITY_URL, timeout: float = 120.0,
                 model: str | None = None, client: httpx.AsyncClient | None = None) -> None:
        self.model = model
        self.client = client or httpx.AsyncClient(
            base_url=base_url, timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "image/*"})

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render one image; a ``finish-reason`` of CONTENT_FILTERED is a refusal."""
        start = time.perf_counter()
        model = self.model or request.model.model_id
        fields = {
            **request.model.parameters, "prompt": request.prompt.text, "seed": request.seed,
            "output_format": request.model.parameters.get("output_format", "png"),
        }
        if request.prompt.negative:
            fields["negative_prompt"] = request.prompt.negative
        if model.startswith("sd3"):
            fields["model"] = model
        form: dict[str, tuple[str | None, bytes] | tuple[str, bytes, str]] = {
            k: (None, str(v).encode()) for k, v in fields.items()}
        if request.input_image:
            form["image"] = ("input.png", input_photo(request), "image/png")
            form["mode"] = (None, b"image-to-image")
            form["strength"] = (None, str(request.model.parameters.get("strength", 0.6)).encode())
        else:
            form["aspect_ratio"] = (None, request.aspect_ratio.encode())
        http_request = self.client.build_request("POST", endpoint(model), files=form)
        response = await send(self.provider, self.client, http_request)
        if response.headers.get("finish-reason", "SUCCESS") == "CONTENT_FILTERED":
            raise ContentRefused("stability filtered the image for its content policy")
        seed = response.headers.get("seed")
        return ImageResult(data=response.content, content_type=response.headers.get("content-type", "image/png"),
                           provider=self.provider, model=model, seed=int(seed) if seed else request.seed,
                           timings={"model": since(start)})

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
