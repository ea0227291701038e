"""The frame of a process that works only while it holds its lock: the relay, the projector, the sweeper.

Each answers its probes (with its role beside the checks) from the start, stands by until it holds
the lock named after it (see ``service.leader``), stops on SIGINT or SIGTERM, stops its work if the
lock goes, and then exits with an error for its supervisor to start it again, as a standby.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from api.probes import Check, Probes, loop_turns, start_probes, store_answers
from service.leader import Leadership, Lock

log = logging.getLogger(__name__)
T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def lead(name: str, lock: Lock, run: Callable[[], T], stop: Callable[[], object], *, store: Any,
         close: Callable[[], object], health_port: int = 0, live: Mapping[str, Check] | None = None,
         on_lost: Callable[[], object] | None = None, busy: str | None = None) -> T | None:
    """What ``run()`` returned once this process led and its work ended; None if stopped while standing by.

    ``stop`` ends ``run`` on a signal, ``on_lost`` (default ``stop``) once the lock is gone; ``store``
    answers readiness, ``live`` joins the liveness checks once this process leads, ``close`` frees what
    the process built. With ``busy`` the process does not stand by: it tries the lock once and exits
    with ``busy`` if another process holds it (a one-off run: no lock to watch, no liveness to add).
    """
    with leading(name, lock, store=store, close=close, health_port=health_port) as (leadership, probes):
        stopping = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            stopped(name, signum, stopping, stop)

        for signum in SIGNALS:
            signal.signal(signum, on_signal)
        if busy is not None:
            if not leadership.try_once():
                raise SystemExit(f"{name}: {busy}")
            return run()
        if not leadership.wait(stopping):
            return None
        if probes is not None:
            probes.live.update(live or {})
        leadership.watch(on_lost or stop)
        return run()


def lead_async(name: str, lock: Lock, run: Callable[[], Awaitable[T]], stop: Callable[[], object], *,
               store: Any, close: Callable[[], object], health_port: int = 0) -> T | None:
    """As ``lead``, for work on an event loop: the loop's turning is the process's liveness from the
    start, and the wait for the lock runs on a thread so that the loop keeps turning meanwhile."""
    with leading(name, lock, store=store, close=close, health_port=health_port) as (leadership, probes):
        stopping = threading.Event()

        async def main() -> T | None:
            loop = asyncio.get_running_loop()
            for signum in SIGNALS:
                loop.add_signal_handler(signum, stopped, name, signum, stopping, stop)
            if probes is not None:
                probes.live["event loop"] = loop_turns(loop)
            return await work_while_leading(leadership, stopping, run, stop)

        return asyncio.run(main())


async def work_while_leading(leadership: Leadership, stopping: threading.Event, run: Callable[[], Awaitable[T]],
                             stop: Callable[[], object]) -> T | None:
    """Wait until this process holds the lock, then ``run()`` until it returns or the lock is lost (which
    calls ``stop`` on the loop); None if ``stopping`` was set first."""
    if not await asyncio.to_thread(leadership.wait, stopping):
        return None
    loop = asyncio.get_running_loop()
    leadership.watch(lambda: loop.call_soon_threadsafe(stop))
    return await run()


@contextmanager
def leading(name: str, lock: Lock, *, store: Any, close: Callable[[], object],
            health_port: int = 0) -> Iterator[tuple[Leadership, Probes | None]]:
    """The process's leadership and probes (None when ``health_port`` is 0) while the work runs; then the
    lock given up, ``close()`` called, the probes stopped, and an exit to stand by if the lock was lost."""
    leadership = Leadership(name, lock)
    probes = start_probes(health_port)
    if probes is not None:
        probes.ready["event store"] = store_answers(store)
        probes.info["role"] = lambda: leadership.role
    try:
        yield leadership, probes
    finally:
        leadership.release()
        close()
        if probes is not None:
            probes.stop()
    if leadership.lost.is_set():
        raise SystemExit(f"{name}: lost its lock to another process; exiting to stand by")


def stopped(name: str, signum: int, stopping: threading.Event, stop: Callable[[], object]) -> None:
    """A signal: stop standing by, or stop the work."""
    log.info("signal %s: stopping the %s", signum, name)
    stopping.set()
    stop()
