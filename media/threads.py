"""Lanes: blocking work of one kind (a store's file or network I/O, decoding photos, fetching URLs) run in
worker threads under its own bound, apart from the threads that serve the synchronous routes.

A lane's threads never wait on the event loop, so a burst of one kind of work can queue in its lane but
never takes the threads the rest of the service needs, and nothing waits on a pool its own waiting holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar

T = TypeVar("T")
STORE_THREADS = 8  # a store's default lane: STUDIO_STORE_THREADS


class Lane:
    """At most ``threads`` calls of one kind at a time, per event loop (a loop's primitives are its own)."""

    def __init__(self, name: str, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"the {name} lane needs at least one thread, not {threads}")
        self.name = name
        self.threads = threads
        self._limiter: RunVar[CapacityLimiter] = RunVar(f"lane-{name}")

    def limiter(self) -> CapacityLimiter:
        """This event loop's limiter of the lane."""
        try:
            return self._limiter.get()
        except LookupError:
            limiter = CapacityLimiter(self.threads)
            self._limiter.set(limiter)
            return limiter

    async def run(self, call: Callable[..., T], *args: object) -> T:
        """``call(*args)`` in a worker thread of this lane, once one is free."""
        return await anyio.to_thread.run_sync(call, *args, limiter=self.limiter())
