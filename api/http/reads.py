"""Reads of the projections that find nothing: before a route answers "not found" (or an empty wallet),
the projections catch up with the ledger's head, within the read wait bound.

A command's answer often reaches a reader that has no position to pass: a share link posted at once
(the network fetches its preview within a second), a generation id handed to another page or tab, the
payment flow reading a wallet after its webhook. Without this, a read just after the command finds
nothing because the projector has not applied it yet, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

import anyio.to_thread
from sqlalchemy import Connection

from projections.watcher import ProjectionBehind
from service.container import Service

T = TypeVar("T")
WhenBehind = Literal["raise", "answer"]  # when the projections do not reach the head in time


async def look_up(service: Service, lookup: Callable[[Connection], T | None], *, reached: int = 0,
                  when_behind: WhenBehind = "raise") -> tuple[T | None, int]:
    """``lookup`` on the read tables, and when it finds nothing, once more after the projections reached the
    ledger's head as it is now; what it found and the position the projections had reached (at least
    ``reached``, the position the route waited for). When they do not reach the head within the bound:
    ``ProjectionBehind`` (a 503 to retry, for a "not found" that a client would act on), or with
    ``when_behind="answer"`` nothing found, as projected so far (an empty wallet, with its position)."""
    found = await anyio.to_thread.run_sync(read, service, lookup)
    if found is None:
        try:
            reached = max(reached, await service.settle())  # on the event loop: no worker thread waits
        except ProjectionBehind as behind:
            if when_behind == "raise":
                raise
            return None, max(reached, behind.reached)
        found = await anyio.to_thread.run_sync(read, service, lookup)
    return found, reached


async def at_head(service: Service) -> bool:
    """Whether the projections reached the ledger's head as it is now, waiting within the bound."""
    try:
        await service.settle()
    except ProjectionBehind:
        return False
    return True


def read(service: Service, lookup: Callable[[Connection], T]) -> T:
    """``lookup`` on a connection of the read database (in a worker thread: it blocks)."""
    with service.reads.connect() as conn:
        return lookup(conn)
