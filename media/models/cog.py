"""A self-hosted Cog container (``POST /predictions``), e.g. Stable Diffusion on your own GPU."""

from __future__ import annotations

import base64
import time

import httpx

from media.errors import ContentRefused, InvalidInput, ProviderError
from media.models.http import input_photo, is_refusal, send, since
from media.ports import ImageRequest, ImageResult


def decode_output(output: object) -> bytes:
    """The image bytes of a Cog output: a data URI (or a list whose first item is one)."""
    if isinstance(output, list) and output:
        output = output[0]
    if not isinstance(output, str) or not output.startswith("data:") or "," not in output:
        raise InvalidInput(f"cog output is not a data URI: {str(output)[:120]}")
    return base64.b64decode(output.split(",", 1)[1])


class CogModel:
    """Renders through a Cog-compatible HTTP server's synchronous prediction endpoint."""

    provider = "cog"

    def __init__(self, base_url: str, *, timeout: float = 300.0, token: str | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout, headers=headers)

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Run one prediction and decode the image it returns."""
        start = time.perf_counter()
        width, height = request.model_size
        payload: dict[str, object] = {
            **request.model.parameters, "prompt": request.prompt.text, "negative_prompt": request.prompt.negative,
            "width": width, "height": height, "seed": request.seed,
        }
        if request.input_image:
            photo = input_photo(request)
            payload["image"] = "data:image/png;base64," + base64.b64encode(photo).decode()
        http_request = self.client.build_request(
            "POST", "/predictions", json={"id": request.generation_id, "input": payload})
        body = (await send(self.provider, self.client, http_request)).json()
        status = body.get("status")
        if status != "succeeded":
            error = str(body.get("error") or status)
            if is_refusal(error):
                raise ContentRefused(f"cog refused: {error}")
            raise ProviderError(f"cog prediction {status}: {error}")
        metrics = body.get("metrics") or {}
        timings = {"model": since(start)}
        if isinstance(metrics.get("predict_time"), int | float):
            timings["predict"] = float(metrics["predict_time"])
        return ImageResult(data=decode_output(body.get("output")), content_type="image/png",
                           provider=self.provider, model=str(request.model.model_id), seed=request.seed,
                           timings=timings)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
