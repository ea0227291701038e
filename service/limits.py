"""Fairness inside one API process: how much of each kind of work one learner may have in flight, the lanes
that bound decoding and fetching photos, and one owner's uploads kept one at a time."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import anyio

from media.threads import Lane
from service.errors import TooBusy, TooManyReports
from service.settings.api import ApiSettings


class PerLearner:
    """At most ``limit`` calls of one kind in flight per learner; one more is ``TooBusy`` at once (never queued:
    a queue would hold a connection and, before this fix, a thread per waiting request)."""

    def __init__(self, what: str, limit: int, retry_after: int = 1) -> None:
        self.what = what
        self.limit = limit
        self.retry_after = retry_after
        self._lock = threading.Lock()  # taken from the event loop and from worker threads alike
        self._in_flight: dict[str, int] = {}

    @contextmanager
    def slot(self, user_id: str) -> Iterator[None]:
        """Hold one of ``user_id``'s slots while the block runs; ``TooBusy`` when they hold them all."""
        with self._lock:
            held = self._in_flight.get(user_id, 0)
            if held >= self.limit:
                raise TooBusy(self.what, self.limit, self.retry_after)
            self._in_flight[user_id] = held + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._in_flight[user_id] - 1
                if left:
                    self._in_flight[user_id] = left
                else:
                    del self._in_flight[user_id]

    def held(self, user_id: str) -> int:
        """Slots ``user_id`` holds now."""
        with self._lock:
            return self._in_flight.get(user_id, 0)


WINDOW_S = 3600  # the per-address count of reports runs over this many seconds
ADDRESSES = 100_000  # addresses remembered at once: the oldest are forgotten first, so memory stays bounded


class AddressBudget:
    """At most ``limit`` reports from one address in each ``window`` seconds, in this process (a multi-replica
    deployment counts per replica: the per-image bound in the ledger holds across them)."""

    def __init__(self, *, limit: int, window: int = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, address: str) -> None:
        """Count one report from ``address``; ``TooManyReports`` when it has sent ``limit`` in the window."""
        now = self._clock()
        with self._lock:
            times = [t for t in self._seen.pop(address, []) if now - t < self.window]
            if len(times) >= self.limit:
                self._seen[address] = times
                raise TooManyReports(self.limit, self.window, max(1, int(self.window - (now - times[0]))))
            self._seen[address] = [*times, now]
            while len(self._seen) > ADDRESSES:
                self._seen.popitem(last=False)


class KeyedLocks:
    """One lock per key (an owner, a caller's idempotency key), on the event loop, dropped when nobody holds
    or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Run the block while no other block holds ``key``'s lock."""
        lock, users = self._locks.get(key) or (anyio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users > 1:
                self._locks[key] = (lock, users - 1)
            else:
                del self._locks[key]


@dataclass
class Limits:
    """The API process's limits: per learner, and the lanes for decoding and fetching photos and for the
    write routes' commands (sizes from ``ApiSettings``, the one place their defaults are written)."""

    generations: PerLearner
    uploads: PerLearner
    fetches: PerLearner
    previews: PerLearner  # per operator: each preview is seconds of the compositor's CPU
    decode: Lane
    fetch: Lane
    # The ledger commands and database statements of the async write routes (generations, uploads): a burst
    # of writes queues here and leaves the STUDIO_THREADS threads to the synchronous routes, reads among them.
    commands: Lane
    reports: AddressBudget  # reports of shared images from one address
    upload_locks: KeyedLocks = field(default_factory=KeyedLocks)  # one owner's uploads counted and kept in turn
    request_locks: KeyedLocks = field(default_factory=KeyedLocks)  # one (caller, idempotency key) at a time

    @classmethod
    def of(cls, api: ApiSettings) -> Limits:
        """The limits ``api`` sets."""
        return cls(generations=PerLearner("generation requests", api.learner_generations),
                   uploads=PerLearner("uploads", api.learner_uploads),
                   fetches=PerLearner("photo fetches", api.learner_fetches),
                   previews=PerLearner("template previews", api.operator_previews),
                   decode=Lane("decode", api.decode_threads), fetch=Lane("fetch", api.fetch_threads),
                   commands=Lane("commands", api.command_threads),
                   reports=AddressBudget(limit=api.reports_per_address))
