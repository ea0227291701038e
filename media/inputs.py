"""The learner's photo for a generation: an upload read from the image store, or a URL fetched safely."""

from __future__ import annotations

import anyio.to_thread

from media.errors import InvalidInput
from media.fetch import Fetcher, FetchRefused
from media.ports import ImageStore
from media.templates import UPLOAD_PREFIX


class InputPhotos:
    """Reads a request's input image; the worker never hands a model a URL to fetch inside our network."""

    def __init__(self, store: ImageStore, fetcher: Fetcher | None = None) -> None:
        self.store = store
        self.fetcher = fetcher or Fetcher()

    async def read(self, user_id: str, reference: str) -> bytes:
        """The photo's bytes: ``upload:<id>`` of ``user_id`` from the store, else the URL's image."""
        if reference.startswith(UPLOAD_PREFIX):
            upload = await self.store.read_upload(user_id, reference.removeprefix(UPLOAD_PREFIX))
            if upload is None:
                raise InvalidInput("the uploaded photo is gone (it expired or was deleted): upload it again")
            return upload.data
        try:
            photo = await anyio.to_thread.run_sync(self.fetcher.fetch, reference)
        except FetchRefused as error:
            raise InvalidInput(f"input_image_url refused: {error}") from error
        return photo.data
