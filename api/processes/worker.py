"""`studio-ledger worker`: one member of the generation workers' consumer group (it reads the templates
projection for the template versions it renders, and writes no database)."""

from __future__ import annotations

import asyncio
import logging

from api.messaging.batches import require_codecs
from api.messaging.worker import build_worker_app
from api.probes import Probes, start_probes, watch_app
from api.processes import log_to_stderr, watch_batches
from service.bootstrap import build_handler
from service.settings import Settings

log = logging.getLogger(__name__)


def run_worker(health_port: int = 0, metrics_port: int = 0) -> None:
    """Run one generation worker until SIGINT or SIGTERM (codecs, settings and templates checked first),
    answering probes on ``health_port`` and counting unreadable batches on ``metrics_port`` (0: off)."""
    # The probes answer from the start: an orchestrator sees the worker alive while its templates load.
    probes = start_probes(health_port)
    try:
        _run(probes, metrics_port)
    finally:
        if probes is not None:
            probes.stop()


def _run(probes: Probes | None, metrics_port: int) -> None:
    log_to_stderr(process="worker")
    require_codecs("worker")
    whole = Settings()
    settings = whole.media
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
        watch_app(probes, app)
    watch_batches(app, settings.kafka_bootstrap_servers, probes, metrics_port)
    asyncio.run(app.run())
