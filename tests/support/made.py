"""A finished image of alice's, made as the pipeline would make it: for the tests of what happens to images."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from uuid import UUID

from fastapi.testclient import TestClient
from PIL import Image

from media.ports import ImageResult
from service.container import Service
from tests.support.http import bearer, key

ALICE = bearer("alice")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


def png() -> bytes:
    """A small orange PNG."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(out, format="PNG")
    return out.getvalue()


def made(client: TestClient, service: Service, who: dict[str, str] = ALICE) -> tuple[str, Path]:
    """A generation of ``who``'s (alice's), rendered and stored as the pipeline would; its id and the image file."""
    accepted = client.post("/v1/generations", json=POSTER, headers={**who, **key()}).json()
    generation_id = accepted["generation_id"]
    assert service.images is not None
    kept = asyncio.run(service.images.put(generation_id, ImageResult(png(), "image/png", "local", "pillow", 7)))
    service.ledger.start_generation(generation_id=UUID(generation_id), worker="test", at=service.clock())
    service.ledger.complete_generation(generation_id=UUID(generation_id), at=service.clock(), image_url=kept.url,
                                       storage_id=kept.storage_id, provider="local", model="pillow", seed=7,
                                       timings={})
    file = service.media.data_dir / "media" / kept.url.removeprefix("/media/")
    assert file.is_file()
    return generation_id, file
