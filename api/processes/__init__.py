"""One module per long-running process (serve, projector, relay, consume, results, worker, sweep):
settings, then ``service.bootstrap``, then run until SIGINT or SIGTERM. The relay, the projector and the
sweeper, of which one process leads at a time, run through ``api.processes.leading``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faststream import FastStream

    from ledger import Ledger

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr(fmt: str = LOG_FORMAT) -> None:
    """The processes log at INFO to stderr, one line per record."""
    logging.basicConfig(level=logging.INFO, format=fmt)


def consume_until_stopped(app: FastStream, ledger: Ledger, health_port: int = 0) -> None:
    """Run a Kafka consumer app that writes to ``ledger`` until SIGINT or SIGTERM, answering probes on
    ``health_port`` (the app's state and the event store's), then close the ledger."""
    from api.probes import start_probes, store_answers, watch_app

    probes = start_probes(health_port)
    if probes is not None:
        watch_app(probes, app)
        probes.ready["event store"] = store_answers(ledger)
    try:
        asyncio.run(app.run())
    finally:
        ledger.close()
        if probes is not None:
            probes.stop()
