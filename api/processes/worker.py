"""`studio-ledger worker`: one member of the generation workers' consumer group (it reads the templates
projection for the template versions it renders, and writes no database)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from faststream import FastStream

from api.messaging.worker import build_worker_app
from api.processes import log_to_stderr
from service.bootstrap import build_handler
from service.settings import Settings

log = logging.getLogger(__name__)


def run_worker(prepare: Callable[[FastStream], object] | None = None) -> None:
    """Run one generation worker until SIGINT or SIGTERM (settings and templates checked first);
    ``prepare`` sees the app before it starts (the command line hangs its probes on it)."""
    log_to_stderr()
    whole = Settings()
    settings = whole.generation
    handler = build_handler(whole)
    start = getattr(handler.catalog, "start", None)
    if start is not None:  # reread the templates as they are published
        start()
    log.info("worker in group %s on %s: %d templates, provider %s, store %s", settings.worker_group,
             settings.generation_requested_topic, len(handler.catalog.all()), settings.image_provider,
             settings.image_store)
    app = build_worker_app(settings, handler)
    if prepare is not None:
        prepare(app)
    asyncio.run(app.run())
