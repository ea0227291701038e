"""One module per long-running process (serve, projector, relay, consume, results, worker, sweep):
settings, then ``service.bootstrap``, then run until SIGINT or SIGTERM. The relay, the projector and the
sweeper, of which one process leads at a time, run through ``api.processes.leading``."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr(fmt: str = LOG_FORMAT) -> None:
    """The processes log at INFO to stderr, one line per record."""
    logging.basicConfig(level=logging.INFO, format=fmt)
