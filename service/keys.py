"""Each learner's key, kept outside the events in the ``learner_keys`` table beside the read tables (it is backed
up and restored with them by ``studio-ledger store backup``/``restore``; a projection rebuild never touches it).

Destroying a learner's key is their erasure (crypto-shredding): the row goes, and every value sealed under it
reads as "[erased]" for ever. A later request of the same user id makes a new key; what the old one sealed
stays unreadable (AES-GCM refuses it under any other key). Losing the table is losing every learner's words:
restore it from a backup (README: "Erasure and the key table").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from projections.db import UTCDateTime, create_tables

KEY_BYTES = 32  # AES-256
CACHE_S = 5.0  # how long another process may go on reading a key this one destroyed
CACHED = 50_000  # learners whose keys are cached at once (past it the cache starts again: memory stays bounded)

keys_metadata = MetaData()
learner_keys = Table(
    "learner_keys",
    keys_metadata,
    Column("owner", String(200), primary_key=True),
    Column("key", LargeBinary(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


class SqlKeys:
    """The ``LearnerKeys`` port on the read database, with a short cache (the projector opens a page of events
    at a time)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[bytes | None, float]] = {}
        create_tables(engine, keys_metadata)

    def key(self, owner: str, *, create: bool) -> bytes | None:
        """``owner``'s key (made when ``create`` and there is none); None when there is none."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(owner)
        if cached is not None and now - cached[1] < CACHE_S and (cached[0] is not None or not create):
            return cached[0]
        found = self._read(owner)
        if found is None and create:
            found = self._make(owner)
        with self._lock:
            if len(self._cache) >= CACHED:
                self._cache.clear()
            self._cache[owner] = (found, now)
        return found

    def destroy(self, owner: str) -> bool:
        """Destroy ``owner``'s key for good; whether there was one."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(learner_keys).where(learner_keys.c.owner == owner)).rowcount
        with self._lock:
            self._cache.pop(owner, None)
        return bool(gone)

    def _read(self, owner: str) -> bytes | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(learner_keys.c.key).where(learner_keys.c.owner == owner)).scalar()
        return bytes(found) if found is not None else None

    def _make(self, owner: str) -> bytes:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(learner_keys).values(owner=owner, key=os.urandom(KEY_BYTES),
                                                         created_at=datetime.now(UTC)))
        except IntegrityError:  # another process made it first: theirs is the key
            pass
        made = self._read(owner)
        assert made is not None
        return made
