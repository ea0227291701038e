"""Following the ledger's notification log from a position: pages of stored events, in order.

Every process with an effect outside the event store (relay, projections, in-process dispatch)
reads the log through this, and records the position it reached with its effect. Notification
ids have gaps (rolled back transactions); a gap is not a lost event. On PostgreSQL the follower
wakes up on the store's NOTIFY after each commit; on the other stores it polls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder


@dataclass(frozen=True)
class Stored:
    """One stored event with its ledger position."""

    position: int
    event: Any

    @property
    def type(self) -> str:
        """The event's public name (its class name), e.g. ``HoldPlaced``."""
        return type(self.event).__name__


class Follower:
    """Yields pages of events after a position until stopped."""

    def __init__(self, app: Application[Any], *, after: int = 0, page_size: int = 500,
                 poll_interval: float = 0.05, topics: Sequence[str] = ()) -> None:
        self.app = app
        self.position = after
        self.page_size = page_size
        self.poll_interval = poll_interval
        self.topics = tuple(topics)
        self.stopping = threading.Event()
        self._woken = threading.Event()
        self._listener: threading.Thread | None = None
        self.turned = time.monotonic()  # when the log was last read: a follower waits at most a second

    @property
    def head(self) -> int:
        """The highest position stored so far."""
        return self.app.recorder.max_notification_id() or 0

    @property
    def lag(self) -> int:
        """How far the follower is behind the head of the log (an upper bound: ids have gaps)."""
        return max(0, self.head - self.position)

    def read(self, limit: int | None = None) -> list[Stored]:
        """The next page of events after the current position (may be empty); advances it."""
        self.turned = time.monotonic()
        notifications = self.app.recorder.select_notifications(
            start=self.position, limit=limit or self.page_size, topics=self.topics, inclusive_of_start=False,
        )
        page = [self._decode(n) for n in notifications]
        if notifications:
            self.position = notifications[-1].id
        return page

    def pages(self) -> Iterator[list[Stored]]:
        """Pages of events as they are stored, until ``stop()``."""
        self._start_listening()
        try:
            while not self.stopping.is_set():
                self._woken.clear()
                page = self.read()
                if page:
                    yield page
                    if len(page) == self.page_size:
                        continue
                self._woken.wait(self.poll_interval if self._listener is None else 1.0)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop following; ``pages()`` returns after its current page."""
        self.stopping.set()
        self._woken.set()

    def _decode(self, notification: Notification) -> Stored:
        return Stored(notification.id, self.app.mapper.to_domain_event(notification))

    def _start_listening(self) -> None:
        recorder = self.app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder) or self._listener is not None:
            return
        self._listener = threading.Thread(target=self._listen, args=(recorder,), daemon=True,
                                          name="ledger-follow-listen")
        self._listener.start()

    def _listen(self, recorder: PostgresApplicationRecorder) -> None:
        while not self.stopping.is_set():
            try:
                with recorder.datastore.get_connection() as conn:
                    conn.execute(f'LISTEN "{recorder.channel_name}"')
                    conn.commit()
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._woken.set()
            except Exception:  # the database went away: poll until it is back
                self._woken.set()
                self.stopping.wait(self.poll_interval)
