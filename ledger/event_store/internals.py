"""The one module that touches eventsourcing's private members.

The ledger saves faster than the library's ``save()`` (``LedgerCore.save``), finds positions in
the in-memory store without a scan (``positions``), and inserts PostgreSQL events as binary
columns (``pgstore``); each needs something the library keeps private. Every such name is used
here and nowhere else, and ``tests/unit/test_library_internals.py`` fails, naming the member, when
the pinned library renames one or changes its signature.

Nothing here imports the PostgreSQL store: a ledger in memory or in SQLite never loads psycopg.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Recording, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

# What the ledger relies on, by owner: the pin test checks each exists with these parameters.
RELIED_ON: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "eventsourcing.application:Application": {
        "_record": ("self", "processing_event"),
        "_notify": ("self", "recordings"),
    },
    "eventsourcing.popo:POPOApplicationRecorder": {
        "_database_lock": (),
        "_stored_events_index": (),
    },
    "eventsourcing.postgres:PostgresAggregateRecorder": {
        "_insert_stored_events": ("self", "curs", "stored_events"),
    },
    "eventsourcing.postgres:PostgresApplicationRecorder": {
        "_insert_stored_events": ("self", "curs", "stored_events"),
        "_lock_table": ("self", "curs"),
        "_notify_channel": ("self", "curs"),
    },
}


def record(application: Application[Any], processing_event: ProcessingEvent[Any]) -> list[Recording[Any]]:
    """Record a processing event's events (and the kwargs it carries) in the application's store."""
    return application._record(processing_event)


def notify(application: Application[Any], recordings: list[Recording[Any]]) -> None:
    """Tell the application's followers about what was just recorded."""
    application._notify(recordings)


@contextmanager
def memory_index(recorder: POPOApplicationRecorder) -> Iterator[Mapping[str, Mapping[int, int]]]:
    """The in-memory store's index (originator id → version → position - 1), under its lock."""
    with recorder._database_lock:
        yield recorder._stored_events_index


def lock_and_notify(recorder: Any, curs: Any) -> None:
    """Take the library's events table lock and queue its NOTIFY, in the cursor's transaction."""
    recorder._lock_table(curs)
    recorder._notify_channel(curs)


class InsertRows:
    """Routes the library's insert hook to ``insert_rows``, which a PostgreSQL recorder defines."""

    @abstractmethod
    def insert_rows(self, curs: Any, stored_events: Sequence[StoredEvent]) -> None:
        """Insert these events with the cursor, inside the library's transaction."""

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        self.insert_rows(curs, stored_events)
