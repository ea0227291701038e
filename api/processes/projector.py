"""`studio-ledger projector`, `store init` and `projections rebuild`: the read tables kept up to date."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from tqdm import tqdm

from api.probes import beats_within, start_probes, store_answers
from service.bootstrap import build_projector
from service.leader import Leadership, lock_for
from service.settings import Settings

log = logging.getLogger(__name__)


def run_projector(health_port: int = 0) -> None:
    """Follow the ledger and keep every projection up to date until SIGTERM or SIGINT.

    Only the process holding the projector's lock projects (see ``service.leader``); others stand by.
    """
    settings = Settings()
    projector = build_projector(settings)
    leadership = Leadership("projector", lock_for("projector", settings.store))
    probes = start_probes(health_port)
    if probes is not None:
        probes.ready["event store"] = store_answers(projector.app)
        probes.info["role"] = lambda: leadership.role
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping the projector", signum)
        stopping.set()
        projector.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    gc.freeze()  # as in serve(): the collector's full passes skip what was built at startup
    try:
        if not leadership.wait(stopping):
            return
        if probes is not None:  # a follower reads at least every second; a page is applied in well under a minute
            probes.live["projector"] = beats_within(lambda: projector.turned, 60.0)
        leadership.watch(projector.stop)
        projector.setup()  # positions as the previous leader left them
        log.info("projector starting at position %s", projector.position)
        projector.run()
    finally:
        leadership.release()
        projector.app.close()
        projector.engine.dispose()
        if probes is not None:
            probes.stop()
    if leadership.lost.is_set():
        raise SystemExit("projector: lost its lock to another process; exiting to stand by")


def create_schema() -> str:
    """Create every table the processes use (event store, positions, read tables, idempotency keys);
    what was created, in one line. Idempotent: each process would also create what it misses."""
    from ledger.store.tracking import positions_for
    from service.idempotency import IdempotencyStore

    projector = build_projector()  # the event store's tables, then the read tables and tracking rows
    try:
        positions_for(projector.app.recorder).get("relay")
        IdempotencyStore(projector.engine).setup()
        head = projector.app.recorder.max_notification_id() or 0
        return (f"event store and read tables ready ({len(projector.projections)} projections at "
                f"position {projector.position}; the log's head is {head})")
    finally:
        projector.app.close()
        projector.engine.dispose()


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
        projector.app.close()
        projector.engine.dispose()
