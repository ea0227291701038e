"""Asking a model for an image, and a Replicate that answers from memory."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from media.ports import ImageRequest
from media.templates import load_catalog


def ask(template_id: str = "social-announcement", input_image: str | None = None, input_data: bytes | None = None,
        **variables: str) -> ImageRequest:
    """The image request a template makes with ``variables`` (a headline by default)."""
    template = load_catalog().get(template_id)
    values = variables or {"headline": "New course!"}
    return ImageRequest(generation_id="g-1", prompt=template.render(values), model=template.model,
                        aspect_ratio=template.aspect_ratio, seed=1234, input_image=input_image, input_data=input_data,
                        caption=template.render_caption(values), palette=template.palette)


def replicate_transport(status: str = "succeeded", *, error: str | None = None, http_status: int = 201,
                        seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """Replicate's API: create a prediction (Prefer: wait), poll it, and serve the output file."""
    prediction = {"id": "p1", "model": "black-forest-labs/flux-schnell", "version": "v1", "input": {},
                  "logs": "", "error": None, "status": "starting", "output": None,
                  "urls": {"get": "https://api.replicate.com/v1/predictions/p1",
                           "cancel": "https://api.replicate.com/v1/predictions/p1/cancel"},
                  "created_at": "2026-01-01T00:00:00Z"}
    done = {**prediction, "status": status, "error": error,
            "output": ["https://replicate.delivery/out.png"] if status == "succeeded" else None}

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.url.host == "replicate.delivery":
            return httpx.Response(200, content=png("green"))
        if request.method == "POST":
            if http_status != 201:
                return httpx.Response(http_status, json={"title": "Too many requests", "detail": "slow down",
                                                         "status": http_status})
            return httpx.Response(201, json=prediction)
        return httpx.Response(200, json=done)

    return httpx.MockTransport(handle)


def png(color: str = "red") -> bytes:
    """A tiny PNG of one colour."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="PNG")
    return out.getvalue()
