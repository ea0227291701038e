"""Composition root of ``studio-ledger worker``: settings, catalog, model and store, then the consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from faststream import FastStream

from generation.bootstrap import build_catalog, build_image_model, build_image_store
from generation.handler import GenerationHandler
from generation.inputs import InputPhotos
from generation.settings import GenerationSettings
from generation.worker import build_worker_app

log = logging.getLogger(__name__)


def run_worker(prepare: Callable[[FastStream], object] | None = None) -> None:
    """Run one generation worker until SIGINT or SIGTERM (settings and templates checked first);
    ``prepare`` sees the app before it starts (the command line hangs its probes on it)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = GenerationSettings()
    catalog = build_catalog(settings)
    store = build_image_store(settings)
    handler = GenerationHandler(catalog, build_image_model(settings), store, settings.retry_policy(),
                                inputs=InputPhotos(store, settings.fetcher(allow_http=False)))
    log.info("worker in group %s on %s: %d templates, provider %s, store %s", settings.worker_group,
             settings.generation_requested_topic, len(catalog.all()), settings.image_provider, settings.image_store)
    app = build_worker_app(settings, handler)
    if prepare is not None:
        prepare(app)
    asyncio.run(app.run())
