"""`studio-ledger worker`: one member of the generation workers' consumer group (it reads the templates
projection for the template versions it renders, and writes no database)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from api.messaging.batches import require_codecs
from api.messaging.worker import build_worker_app
from api.processes import log_to_stderr, watch_batches
from service.bootstrap import build_handler
from service.settings import Settings

if TYPE_CHECKING:
    from api.probes import Probes

log = logging.getLogger(__name__)


def run_worker(probes: Probes | None = None, metrics_port: int = 0) -> None:
    """Run one generation worker until SIGINT or SIGTERM (codecs, settings and templates checked first),
    with its checks on ``probes`` and its counter of unreadable batches on ``metrics_port`` (0: off)."""
    log_to_stderr(process="worker")
    require_codecs("worker")
    whole = Settings()
    settings = whole.generation
    handler = build_handler(whole)
    start = getattr(handler.catalog, "start", None)
    if start is not None:  # reread the templates as they are published
        start()
    log.info("worker in group %s on %s: %d templates, provider %s, store %s", settings.worker_group,
             settings.generation_requested_topic, len(handler.catalog.all()), settings.image_provider,
             settings.image_store)
    if handler.credentials is not None:
        log.info("content credentials: %s", handler.credentials.origin)
    app = build_worker_app(settings, handler)
    if probes is not None:
        from api.probes import watch_app

        watch_app(probes, app)
    watch_batches(app, settings.kafka_bootstrap_servers, probes, metrics_port)
    asyncio.run(app.run())
