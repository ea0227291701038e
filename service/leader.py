"""One active process at a time for the relay, the projector and the sweeper, however many run.

Each of them follows the whole ledger alone: two relays would publish every event twice, two
projectors would fight over the same tracking rows, two sweepers would race to expire the same
holds. So any number may be deployed (a standby takes over within seconds), but only the holder
of a lock named after the process does the work. On PostgreSQL the lock is a session advisory
lock of the event store's own database: the server releases it when the holder's session ends,
however the holder died. The holder checks its session every few seconds; if the session is
gone, so is the lock, and the process stops its work and exits for its supervisor to restart it
(as a standby). On SQLite it is an exclusive lock on a file beside the event store (one machine);
the memory store has a single process by definition.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg

from service.settings.store import StoreSettings

log = logging.getLogger(__name__)


class Lock(Protocol):
    """A named lock only one process holds at a time."""

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; whether this process holds it now."""
        ...

    def still_held(self) -> bool:
        """Whether the lock is still this process's (its session is alive)."""
        ...

    def release(self) -> None:
        """Give the lock up."""
        ...


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(f"studio-ledger:{name}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own (not a pooled one)."""

    def __init__(self, name: str, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self.name = name
        self.key = lock_key(name)
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def session(self) -> int | None:
        """The server process of the lock's session, if connected."""
        return None if self._conn is None or self._conn.closed else self._conn.info.backend_pid

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (on a new session if the last one went away)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self.release()
            self._conn = self._connect()
        try:
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.OperationalError:  # the session ended under us: the next attempt connects again
            self.release()
            raise
        return bool(row and row[0])

    def still_held(self) -> bool:
        """Whether the session that took the lock still answers (the server keeps it until it ends)."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND granted AND objid = (%s::bigint & 4294967295)::oid "
                "AND classid = ((%s::bigint >> 32) & 4294967295)::oid", (self.key, self.key)).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def release(self) -> None:
        """Close the session, which releases the lock."""
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


class FileLock:
    """An exclusive ``flock`` on a file: one holder among the processes of one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        """A file lock lasts as long as the file is open."""
        return self._file is not None and not self._file.closed

    def release(self) -> None:
        """Close the file, which releases the lock."""
        if self._file is not None:
            self._file.close()
            self._file = None


class AlwaysHeld:
    """The memory store: one process, so it always leads."""

    def try_acquire(self) -> bool:
        """Always held."""
        return True

    def still_held(self) -> bool:
        """Always held."""
        return True

    def release(self) -> None:
        """Nothing to release."""


def scoped_name(name: str, settings: StoreSettings) -> str:
    """The advisory lock's name for ``name`` on a PostgreSQL event store: one per database and schema."""
    return f"{settings.postgres_db}/{settings.postgres_schema}/{name}"


def lock_for(name: str, settings: StoreSettings) -> Lock:
    """The lock called ``name`` on the configured event store."""
    if settings.backend == "postgres":
        scoped = scoped_name(name, settings)

        def connect() -> psycopg.Connection[Any]:
            return psycopg.connect(
                host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user,
                password=settings.postgres_password.get_secret_value(), dbname=settings.postgres_db,
                autocommit=True, application_name=f"studio-ledger {name}"[:63], connect_timeout=10,
                # a holder cut off from the server learns it within ~15 s, as the server does
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)

        return AdvisoryLock(scoped, connect)
    if settings.backend == "sqlite":
        return FileLock(settings.data_dir / f"{name}.leader")
    return AlwaysHeld()


class Leadership:
    """Waits to hold ``lock``, then watches it and calls ``on_lost`` if it ever goes."""

    def __init__(self, name: str, lock: Lock, *, check_every: float = 2.0) -> None:
        self.name = name
        self.lock = lock
        self.check_every = check_every
        self.role = "standby"
        self.lost = threading.Event()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def try_once(self) -> bool:
        """Take the lock if nobody holds it; whether this process leads now."""
        if self.lock.try_acquire():
            self.role = "leader"
            return True
        return False

    def wait(self, stopping: threading.Event) -> bool:
        """Block until this process holds the lock (True) or ``stopping`` is set (False)."""
        announced = False
        while not stopping.is_set():
            try:
                if self.lock.try_acquire():
                    self.role = "leader"
                    log.info("%s: this process leads", self.name)
                    return True
            except psycopg.Error as error:  # the database is away: keep waiting
                log.warning("%s: cannot reach the lock (%s); retrying", self.name, error)
            if not announced:
                log.info("%s: another process leads; standing by", self.name)
                announced = True
            stopping.wait(self.check_every)
        return False

    def watch(self, on_lost: Callable[[], object]) -> None:
        """Check the lock every ``check_every`` seconds; once it is gone, call ``on_lost`` (once)."""

        def run() -> None:
            while not self._stopping.wait(self.check_every):
                if not self.lock.still_held():
                    log.error("%s: lost the lock; stopping", self.name)
                    self.role = "lost"
                    self.lost.set()
                    on_lost()
                    return

        self._watcher = threading.Thread(target=run, name=f"{self.name}-leadership", daemon=True)
        self._watcher.start()

    def release(self) -> None:
        """Stop watching and give the lock up (a standby takes over)."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.lock.release()


class LeadingPart:
    """A part of the API process (its projector, hold sweeper or in-process pipeline) that works only
    while this process holds the part's lock: several API replicas started with the same settings run
    each part once between them, and a standby replica's part takes over when the leader's session
    ends. Unlike a process of its own, a part that loses its lock stops and stands by again (the API
    itself keeps serving)."""

    def __init__(self, name: str, lock: Lock, start: Callable[[], object], stop: Callable[[], object], *,
                 check_every: float = 2.0) -> None:
        self.name = name
        self.lock = lock
        self.check_every = check_every
        self.role = "standby"
        self._start, self._stop = start, stop
        self._stopping = threading.Event()
        self._wake = threading.Event()  # the lock is lost, or the part is to end
        self._thread: threading.Thread | None = None

    @property
    def leads(self) -> bool:
        """Whether the part works in this process now."""
        return self.role == "leader"

    def begin(self) -> None:
        """Start the part now if nobody holds its lock (a part that cannot start raises here, as a process
        that cannot start would); then keep it led or standing by in the background."""
        leadership = Leadership(self.name, self.lock, check_every=self.check_every)
        try:
            held = leadership.try_once()
        except psycopg.Error as error:  # the database is away: stand by, the background tries again
            log.warning("%s: cannot reach the lock (%s)", self.name, error)
            held = False
        if held:
            log.info("%s: this process leads", self.name)
            self._lead(leadership)
        self._thread = threading.Thread(target=self._run, args=(leadership,), name=f"{self.name}-leading",
                                        daemon=True)
        self._thread.start()

    def end(self) -> None:
        """Stop the part if it works here, and give the lock up."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _lead(self, leadership: Leadership) -> None:
        try:
            self._start()
        except Exception:
            leadership.release()
            raise
        self.role = "leader"
        leadership.watch(self._wake.set)

    def _run(self, leadership: Leadership) -> None:
        while True:
            if self.leads:
                self._wake.wait()  # the lock was lost (``Leadership.watch`` says so), or the part ends
                self.role = "standby"
                self._stop()
                leadership.release()
            self._wake.clear()
            if self._stopping.is_set():
                return
            leadership = Leadership(self.name, self.lock, check_every=self.check_every)
            if not leadership.wait(self._stopping):
                return
            try:
                self._lead(leadership)
            except Exception:  # it started once in this process: try again after a pause, standing by
                log.exception("%s: could not start; standing by", self.name)
                self._stopping.wait(self.check_every)


def leader_keys(store: StoreSettings, relay: str | None) -> dict[str, int]:
    """The advisory lock key of each part of which one process leads (on PostgreSQL; none elsewhere)."""
    if store.backend != "postgres":
        return {}
    parts = ["projector", "sweeper", *([f"relay:{relay}"] if relay is not None else [])]
    return {part: lock_key(scoped_name(part, store)) for part in parts}
