"""Template previews: each template rendered once by the local model with its sample text, kept in memory.

The preview goes through the pipeline's own steps (``image_request`` from a requested-generation
message, the model's ``generate``, then the compositor's ``finish``), so it shows what a learner's image
will look like. A
template that takes the learner's photo is previewed without one: its style, colours and text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image

from media.compositor.result import finish
from media.handler import image_request
from media.marks import with_xmp
from media.messages import GenerationRequestedMessage, event_envelope
from media.models.local import LocalModel
from media.ports import ImageModel
from media.samples import SAMPLE_PHOTO
from media.templates import Template
from media.threads import Lane

PREVIEW_WIDTH = 480  # pixels: two cards across a desktop page, one across a phone at 2x
PREVIEW_NAMESPACE = uuid.UUID("5c0d7f52-8a43-4b8e-9f0e-2a6f3c1b9d41")


@dataclass(frozen=True)
class Preview:
    """A rendered preview and its entity tag."""

    png: bytes
    etag: str


def sample_values(template: Template) -> dict[str, str]:
    """A value for every variable: its sample, default, first choice or label."""
    return {v.name: v.example() for v in template.variables}


def preview_request(template: Template, variables: dict[str, str] | None = None) -> GenerationRequestedMessage:
    """A requested-generation message for the template's preview (a fixed id: the same picture each time),
    with its sample values or ``variables``."""
    generation_id = uuid.uuid5(PREVIEW_NAMESPACE, f"{template.id}:{template.version}")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    message = event_envelope(
        event_type="GenerationRequested", version=1, occurred_at=at.isoformat(), position=0,
        aggregate_id=str(generation_id), aggregate_version=1,
        payload={"user_id": "preview", "template_id": template.id, "template_version": template.version,
                 "variables": variables or sample_values(template), "cost": template.cost, "hold_id": "preview",
                 "expires_at": at})
    return GenerationRequestedMessage.model_validate(message)


def _shrink(png: bytes) -> bytes:
    image: Image.Image = Image.open(io.BytesIO(png))
    image.load()
    if image.width > PREVIEW_WIDTH:
        image = image.resize((PREVIEW_WIDTH, round(image.height * PREVIEW_WIDTH / image.width)),
                             Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return with_xmp(out.getvalue())  # a sample is AI-made too


class Previews:
    """Renders each template's preview on first request, then answers from memory (by id and version)."""

    def __init__(self, model: ImageModel | None = None) -> None:
        # Drawn one at a time in a lane of their own: the first visitors' previews (seconds of CPU each)
        # never take the threads of the synchronous routes.
        self.lane = Lane("preview", 1)
        self._model = model
        self._done: dict[tuple[str, int], Preview] = {}
        self._rendering: dict[tuple[str, int], asyncio.Lock] = {}

    def model(self) -> ImageModel:
        """The local model at full scale with no added delay, drawing in the previews' lane (previews never
        go to a paid provider)."""
        if self._model is None:
            self._model = LocalModel(lane=self.lane)
        return self._model

    async def get(self, template: Template) -> Preview:
        """The template's preview, rendered once per id and version (concurrent first requests wait for one)."""
        key = (template.id, template.version)
        found = self._done.get(key)
        if found is not None:
            return found
        async with self._rendering.setdefault(key, asyncio.Lock()):
            found = self._done.get(key)
            if found is None:
                found = self._done[key] = await self._render(template)
        return found

    async def draft(self, template: Template, variables: dict[str, str]) -> bytes:
        """A template not published yet rendered with ``variables`` (not kept: a draft changes)."""
        return (await self._render(template, variables)).png

    async def _render(self, template: Template, variables: dict[str, str] | None = None) -> Preview:
        message = preview_request(template, variables)
        takes_photo = template.needs_input_image
        if takes_photo:
            template = template.model_copy(update={"needs_input_image": False})
        request = image_request(template, message)
        if takes_photo and SAMPLE_PHOTO.is_file():  # a sample portrait shows what the learner's photo becomes
            photo = await self.lane.run(SAMPLE_PHOTO.read_bytes)
            request = dataclasses.replace(request, input_image="sample", input_data=photo)
        artwork = await self.model().generate(request)
        image = await self.lane.run(finish, template, message.payload.variables, artwork)
        png = await self.lane.run(_shrink, image.data)
        digest = hashlib.sha256(png).hexdigest()[:20]
        return Preview(png=png, etag=f'"{template.id}-v{template.version}-{digest}"')
