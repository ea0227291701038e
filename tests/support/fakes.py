"""Fakes of the use cases' ports: photos, and a ledger call recorder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger import Outcome
from media.fetch import FetchRefused
from media.ports import UploadInfo


@dataclass
class FakePhotos:
    """The uploads each owner keeps, and the URLs that fetch as a photo; records what was fetched."""

    kept: dict[str, list[UploadInfo]] = field(default_factory=dict)
    good_urls: set[str] = field(default_factory=set)
    fetched: list[str] = field(default_factory=list)

    async def uploads(self, owner: str) -> Sequence[UploadInfo]:
        return self.kept.get(owner, [])

    async def fetch(self, url: str) -> object:
        self.fetched.append(url)
        if url not in self.good_urls:
            raise FetchRefused("the address is inside a private network")
        return object()


@dataclass
class Recorder:
    """A ``Run`` that records the names of the commands it ran."""

    names: list[str] = field(default_factory=list)

    def __call__(self, name: str, command: Callable[[], Outcome]) -> Outcome:
        self.names.append(name)
        return command()
