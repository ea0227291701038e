"""A request's photo as the API process reads it: the ``Photos`` port of ``service.generations`` over the
running service's image store, fetcher and lanes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from media.ports import UploadInfo
from service.container import Service, is_embedded


@dataclass(frozen=True)
class ServicePhotos:
    """A request's photo as the service reads it, awaited on the event loop: the caller's uploads from the image
    store (in the store's lane), a URL through the fetcher a worker uses (plain http on the embedded default
    only), one at a time per learner and within the fetch lane."""

    service: Service
    user_id: str

    async def uploads(self, owner: str) -> Sequence[UploadInfo]:
        """The uploads ``owner`` keeps."""
        assert self.service.images is not None
        return await self.service.images.uploads(owner)

    async def fetch(self, url: str) -> object:
        """The photo at ``url``, or ``FetchRefused``; ``TooBusy`` while the learner's fetches are all in flight."""
        service = self.service
        fetcher = service.media.fetcher(allow_http=is_embedded(service.store, service.api))
        with service.limits.fetches.slot(self.user_id):
            return await service.limits.fetch.run(fetcher.fetch, url)
