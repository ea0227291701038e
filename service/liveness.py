"""Whether the background parts of a process still run: each part answers ``check()`` with "ok" or what is
wrong, and the probes report every part the process runs."""

from __future__ import annotations

import threading
from typing import Protocol


class Part(Protocol):
    """A part of a process that works on a background thread (projector, pipeline, sweeper, purger)."""

    def check(self) -> str:
        """"ok" while the part works, else what stopped it."""
        ...


def thread_state(thread: threading.Thread | None, failure: BaseException | None = None) -> str:
    """A part's state from its thread: "ok" while it runs, else what stopped it. Nothing in the process
    starts a part's thread again, so a stopped one stays stopped until the process restarts."""
    if failure is not None:
        return f"stopped: {type(failure).__name__}: {failure}"
    if thread is None:
        return "not running"
    return "ok" if thread.is_alive() else "stopped"
