"""Read your writes: wait, within a bound, until the projections reach a ledger position.

In the process that projects, the projector wakes the waiting readers each time it commits a page.
When another process projects, its commits are heard (PostgreSQL LISTEN/NOTIFY on the projector's
channel) or, without announcements, its tracking rows are polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import anyio.to_thread
from sqlalchemy.engine import Engine

from projections import queries
from projections.projector import Projector

log = logging.getLogger(__name__)


class ProjectionBehind(Exception):
    """The projections did not reach a position within the wait bound; the reader may retry shortly."""

    def __init__(self, position: int, reached: int) -> None:
        super().__init__(f"the projections reached {reached}, not yet {position}; retry shortly")
        self.position = position
        self.reached = reached


class PositionBeyondHead(Exception):
    """A position beyond the ledger's head: no command ever returned it, so waiting would not help."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(f"min_position {position} is beyond the ledger's head {head}: it was never returned")
        self.position = position
        self.head = head


class WaitSettings(Protocol):
    """What the watcher reads of the settings, each time (a test may change the bound while running)."""

    run_projector: bool
    read_wait_ms: int


class Watcher:
    """Where the projections are, and a bounded wait for a position (on the event loop, no thread held)."""

    def __init__(self, projector: Projector, engine: Engine, head: Callable[[], int], settings: WaitSettings) -> None:
        self.projector = projector
        self.engine = engine
        self.head = head  # the event store's head position
        self.settings = settings
        self._advanced: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None  # readers waiting
        self._head = 0  # the highest position known to exist (a command's outcome, or the store's head)
        self._heard: int | None = None  # another process projects: the position its last commit announced
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Whether this process's projector is the one projecting now: as configured, or (see ``follow``)
        # while it holds the projector's lock.
        self.local: Callable[[], bool] = lambda: self.settings.run_projector
        self._led = False

    def follow(self, leads: Callable[[], bool]) -> None:
        """Count this process's projector only while ``leads()`` (API replicas on PostgreSQL take turns
        with it), and hear the projector of another process meanwhile. Before ``start``."""
        self.local = leads
        self._led = True

    def start(self) -> None:
        """Be woken by the projector of this process, or hear the one of another process."""
        self.projector.on_advance(self._wake_readers)
        if self.projector.channel is not None and (self._led or not self.settings.run_projector):
            self._thread = threading.Thread(target=self._hear_projector, args=(self.projector.channel,),
                                            name="projections-listen", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def projected(self) -> int:
        """The position every projection has reached (in this process, or as committed by another)."""
        if self.local():
            return self.projector.position
        if self._heard is not None:
            return self._heard
        return self._tracked()

    def saw(self, position: int) -> None:
        """Note a ledger position known to exist (a command's outcome, or the store's head)."""
        self._head = max(self._head, position)

    async def reach(self, position: int | None) -> int:
        """Wait, within the bound, until the projections reach ``position``: the position reached, else
        ``ProjectionBehind``; ``PositionBeyondHead`` at once for a position no command returned."""
        reached = await self._projected()
        if position is None or reached >= position:
            return reached
        if position > self._head:  # not one of ours: ask the event store where its head is
            head = await anyio.to_thread.run_sync(self.head)
            self.saw(head)
            if position > head:
                raise PositionBeyondHead(position, head)
        in_process = self.local()
        deadline = time.monotonic() + self.settings.read_wait_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            if in_process or self._heard is not None:
                advanced = self._advance_event()
                if (reached := await self._projected()) >= position:
                    return reached
                try:
                    await asyncio.wait_for(advanced.wait(), left if in_process else min(left, 0.1))
                except TimeoutError:
                    if in_process:
                        break
                    # Heard nothing for 100 ms: read the tracking rows too, in case an announcement
                    # was missed (the listener reconnecting), rather than wait the whole bound.
                    self._hear(await anyio.to_thread.run_sync(self._tracked))
            else:  # another process projects and its announcements are not heard: poll its tracking rows
                await asyncio.sleep(min(0.005, left))
            if (reached := await self._projected()) >= position:
                return reached
        raise ProjectionBehind(position, reached)

    async def settle(self) -> int:
        """Wait, within the bound, until the projections reach the ledger's head as it is now: the position
        reached, else ``ProjectionBehind``. A read that finds nothing settles before saying so, since a
        command may have just returned what it looks for to a client with no position to pass."""
        head = await anyio.to_thread.run_sync(self.head)  # one indexed MAX(): cheap, and no thread held after
        self.saw(head)
        return await self.reach(head)

    def caught_up(self, timeout: float) -> bool:
        """Whether the projections reach the ledger's head as it is now within ``timeout`` seconds. It blocks:
        for a thread of its own (the upload purger), never a worker thread of the routes (they ``settle``)."""
        head = self.head()
        self.saw(head)
        deadline = time.monotonic() + timeout
        while self.projected() < head:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.local():
                self.projector.wait(head, left)
            else:  # another process projects: read where it is now and then
                self._stopping.wait(min(left, 0.02))
        return True

    def _tracked(self) -> int:
        with self.engine.connect() as conn:
            return min(queries.tracked_positions(conn).values(), default=0)

    def _advance_event(self) -> asyncio.Event:
        # The event the next projector advance sets; one per advance, shared by every waiting reader.
        loop = asyncio.get_running_loop()
        if self._advanced is None or self._advanced[1].is_set() or self._advanced[0] is not loop:
            self._advanced = (loop, asyncio.Event())
        return self._advanced[1]

    def _wake_readers(self, _position: int) -> None:
        waiting = self._advanced
        if waiting is not None and not waiting[1].is_set():
            loop, advanced = waiting
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
                loop.call_soon_threadsafe(advanced.set)

    async def _projected(self) -> int:
        if self.local():
            return self.projector.position
        if self._heard is not None:
            return self._heard
        return await anyio.to_thread.run_sync(self.projected)

    def _hear_projector(self, channel: str) -> None:
        """Follow the announcements of a projector in another process (PostgreSQL NOTIFY): each
        commit of its pages says the position every projection reached, so waiting readers are
        woken without polling. Without a connection, readers poll the tracking rows."""
        import psycopg
        from psycopg import sql

        while not self._stopping.is_set():
            try:
                raw = self.engine.raw_connection()
                conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
                raw.detach()  # a connection of its own for as long as it listens, outside the pool
                try:
                    conn.autocommit = True
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self._hear(self._tracked())  # what was committed before listening
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=0.5, stop_after=1):
                            self._hear(int(note.payload))
                finally:
                    conn.close()
            except Exception as error:  # the read database went away: readers poll until it is back
                log.warning("not hearing the projector on %s (%s: %s); readers poll meanwhile",
                            channel, type(error).__name__, error)
                self._heard = None
                self._stopping.wait(0.5)

    def _hear(self, position: int) -> None:
        self._heard = max(self._heard or 0, position)
        self._wake_readers(self._heard)
