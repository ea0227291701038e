"""Reading the learner's photo for the local model: a ``/media/`` path from the local store, or an http(s) URL."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import httpx

from generation.errors import InvalidInput
from generation.models.http import download

MAX_BYTES = 20 * 1024 * 1024


class PhotoReader:
    """The bytes of an input photo; a path outside the media folder or an oversized file is refused."""

    def __init__(self, media_dir: Path, *, timeout: float = 30.0, client: httpx.AsyncClient | None = None) -> None:
        self.media_dir = media_dir
        self.timeout = timeout
        self.client = client

    async def __call__(self, location: str) -> bytes:
        """The photo at ``location``."""
        if location.startswith("/media/"):
            return await anyio.to_thread.run_sync(self._read_local, location.removeprefix("/media/"))
        if self.client is not None:
            return _bounded(await download("photo", self.client, location))
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            return _bounded(await download("photo", client, location))

    def _read_local(self, relative: str) -> bytes:
        root = self.media_dir.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise InvalidInput(f"no input photo at /media/{relative}")
        if path.stat().st_size > MAX_BYTES:
            raise InvalidInput(f"the input photo /media/{relative} is larger than {MAX_BYTES // 2**20} MB")
        return path.read_bytes()


def _bounded(data: bytes) -> bytes:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the input photo is larger than {MAX_BYTES // 2**20} MB")
    return data
