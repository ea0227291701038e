"""The pipeline's ports: an image model renders a prompt, an image store keeps the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from media.model_spec import ModelSpec
from media.templates import Prompt

SIZES = {  # the finished image's size per aspect ratio: native to where it is posted
    "1:1": (1080, 1080),  # Instagram / LinkedIn square, profile photos
    "4:5": (1080, 1350),  # Instagram portrait post
    "9:16": (1080, 1920),  # stories, reels, status
    "16:9": (1920, 1080),  # YouTube thumbnail, banners
    "2:3": (1024, 1536),  # posters, Pinterest
    "3:4": (1080, 1440),  # portrait posters
}
MODEL_SIZES = {  # what we ask a model for that takes pixel sizes (multiples of 64, about a megapixel)
    "1:1": (1024, 1024),
    "4:5": (896, 1120),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "2:3": (832, 1248),
    "3:4": (896, 1184),
}
OPEN_GRAPH = (1200, 630)  # the share page's preview image


@dataclass(frozen=True)
class ImageRequest:
    """What a model needs to render one generation."""

    generation_id: str
    prompt: Prompt
    model: ModelSpec
    aspect_ratio: str
    seed: int
    input_image: str | None = None
    input_data: bytes | None = None  # the learner's photo, fetched and checked (never a URL to fetch again)
    caption: str = ""
    palette: tuple[str, ...] = ("#1f2937", "#f59e0b", "#f9fafb")
    category: str = "poster"
    style: str = "minimal"  # the art style (or photo treatment) the template's layout picked
    tint: str | None = None  # the learner's colour, if the template takes one

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels of the finished image for the aspect ratio."""
        return SIZES[self.aspect_ratio]

    @property
    def model_size(self) -> tuple[int, int]:
        """Width and height to ask a model for (the compositor scales its output to ``size``)."""
        return MODEL_SIZES[self.aspect_ratio]


@dataclass(frozen=True)
class ImageResult:
    """A rendered image and where it came from."""

    data: bytes
    content_type: str
    provider: str
    model: str
    seed: int | None
    timings: dict[str, float] = field(default_factory=dict)
    # What the provider says this call cost, in micro-dollars, when its answer carries a money figure
    # (none of today's adapters' providers does: their price per image is in the template).
    cost_micro_usd: int | None = None
    # The same image decoded (a Pillow image), when this process still holds it: the compositor takes the
    # local model's art from it (its ``data`` is then empty: the art is never encoded only to be decoded
    # again), a store makes its thumbnail and share preview from the compositor's. Never stored or sent.
    picture: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class StoredImage:
    """An image kept by a store under the generation id, with what is needed to report it again."""

    url: str
    storage_id: str
    thumbnail_url: str
    provider: str
    model: str
    seed: int | None
    timings: dict[str, float]


class ImageModel(Protocol):
    """Renders an image for a prompt; raises ``ProviderError`` subclasses on failure."""

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Render one image."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class UploadInfo:
    """A learner's uploaded photo as the store keeps it: private, owned, deleted when it expires unused."""

    upload_id: str
    owner: str
    content_type: str
    width: int
    height: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Upload(UploadInfo):
    """An uploaded photo with its (re-encoded) bytes."""

    data: bytes = b""


class ImageStore(Protocol):
    """Keeps images under the generation id (never overwriting one) under unguessable private names,
    hands out short-lived signed URLs for them, and keeps the learners' uploaded photos privately."""

    async def find(self, storage_id: str) -> StoredImage | None:
        """The image already stored under ``storage_id``, or None."""
        ...

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Store ``image`` under ``storage_id``; if one is there already, return it unchanged."""
        ...

    def signed_url(self, url: str, ttl: int) -> str:
        """A URL that lets its holder read the stored object at ``url`` for about ``ttl`` seconds (no I/O)."""
        ...

    async def delete(self, storage_id: str) -> None:
        """Delete the image kept under ``storage_id`` with its thumbnail and preview; nothing happens if gone."""
        ...

    async def put_upload(self, upload: Upload) -> None:
        """Keep an uploaded photo privately under its owner and id."""
        ...

    async def read_upload(self, owner: str, upload_id: str) -> Upload | None:
        """The photo ``upload_id`` of ``owner``, or None (another owner's id is None too)."""
        ...

    async def uploads(self, owner: str | None = None) -> list[UploadInfo]:
        """The uploads kept for ``owner`` (every owner's when None)."""
        ...

    async def delete_upload(self, owner: str, upload_id: str) -> None:
        """Delete an upload; nothing happens if it is gone already."""
        ...
