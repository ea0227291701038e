"""`studio-ledger projector`, `store init` and `projections rebuild`: the read tables kept up to date."""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence

from tqdm import tqdm

from api.probes import beats_within
from api.processes.leading import lead
from projections import Projector
from projections.db import create_tables, metadata
from projections.failures import SetAside, failures, projection_failures
from service.bootstrap import build_projector, build_read_engine
from service.leader import lock_for
from service.settings import Settings

log = logging.getLogger(__name__)


def run_projector(health_port: int = 0) -> None:
    """Follow the ledger and keep every projection up to date until SIGTERM or SIGINT.

    Only the process holding the projector's lock projects (see ``service.leader``); others stand by.
    """
    settings = Settings()
    projector = build_projector(settings)

    def run() -> None:
        projector.setup()  # positions as the previous leader left them
        log.info("projector starting at position %s", projector.position)
        projector.run()

    gc.freeze()  # as in serve(): the collector's full passes skip what was built at startup
    # a follower reads at least every second; a page is applied in well under a minute
    lead("projector", lock_for("projector", settings.store), run, projector.stop, store=projector.app,
         close=lambda: close(projector), health_port=health_port,
         live={"projector": beats_within(lambda: projector.turned, 60.0)})


def create_schema() -> str:
    """Create every table the processes use (event store, positions, read tables, idempotency keys);
    what was created, in one line. Idempotent: each process would also create what it misses."""
    from ledger.event_store.tracking import positions_for
    from service.idempotency import IdempotencyStore

    projector = build_projector()  # the event store's tables, then the read tables and tracking rows
    try:
        positions_for(projector.app.recorder).get("relay")
        IdempotencyStore(projector.engine).setup()
        head = projector.app.recorder.max_notification_id() or 0
        return (f"event store and read tables ready ({len(projector.projections)} projections at "
                f"position {projector.position}; the log's head is {head})")
    finally:
        close(projector)


def rebuild(names: Sequence[str]) -> int:
    """Empty the named projections (all by default) and replay the whole ledger into them, with a progress bar."""
    projector = build_projector()
    try:
        unknown = sorted(set(names) - set(projector.projections))
        if unknown:
            raise LookupError(f"unknown projection(s) {unknown}; known: {sorted(projector.projections)}")
        head = projector.app.recorder.max_notification_id() or 0
        with tqdm(total=head, unit="event", desc="rebuilding " + (", ".join(names) or "all projections")) as bar:
            return projector.rebuild(names, progress=bar.update)
    finally:
        close(projector)


def set_aside(names: Sequence[str]) -> list[SetAside]:
    """The events the named projections (all by default) set aside because they cannot apply them."""
    engine = build_read_engine()
    try:
        create_tables(engine, metadata, [projection_failures])  # a read database no projector has run on yet
        with engine.connect() as conn:
            return failures(conn, names)
    finally:
        engine.dispose()


def close(projector: Projector) -> None:
    """Close the projector's event store and read database."""
    projector.app.close()
    projector.engine.dispose()
