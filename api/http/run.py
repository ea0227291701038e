"""The long-running processes behind `studio-ledger serve` and `studio-ledger projector`."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from types import FrameType
from typing import Any

from tqdm import tqdm

from api.http.auth import issue_token
from projections import Projector, all_projections
from projections.db import make_engine
from service.bootstrap import build_ledger
from service.container import is_embedded, read_db_url
from service.settings.http import ApiSettings
from service.settings.store import StoreSettings

log = logging.getLogger(__name__)


def serve(*, host: str | None = None, port: int | None = None) -> None:
    """Run the API (and, on the embedded default, the projector and the pipeline) until interrupted;
    ``host`` and ``port`` override STUDIO_HOST and STUDIO_PORT (and so the default STUDIO_PUBLIC_URL)."""
    import uvicorn

    from api.http.app import create_app
    from service.container import build_service

    overrides: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    service = build_service(ApiSettings(**overrides))
    app = create_app(service)
    print(welcome(service.api, service.store), flush=True)  # the newcomer's first lines
    # Everything built so far lives as long as the process: keep it out of the collector's full
    # passes, which otherwise walk all of it (some 150,000 objects: 80 to 120 ms with the GIL held,
    # every 20 to 30 s at 200 commands/s) and stall every request in flight.
    gc.freeze()
    uvicorn.run(app, host=service.api.host, port=service.api.port, log_level="info")


def welcome(api: ApiSettings, store: StoreSettings) -> str:
    """What `serve` prints first: where the service answers, where its data lives and, on the embedded
    default, how to get a token."""
    base = api.public_url.rstrip("/")
    lines = [f"Studio Ledger on {base}  (API docs {base}/docs)"]
    if store.store == "postgres":
        lines.append(f"event store: PostgreSQL {store.postgres_host}:{store.postgres_port}/{store.postgres_db}; "
                     f"images in {store.data_dir.resolve() / 'media'}")
    else:
        lines.append(f"data folder: {store.data_dir.resolve()}  (events.db, read.db, media/)")
    if is_embedded(store, api):
        command = sys.argv[0] if sys.argv and sys.argv[0].endswith("studio-ledger") else "studio-ledger"
        if os.path.isabs(command) and command.startswith(os.getcwd() + os.sep):
            command = os.path.relpath(command)
        lines.append(f"a token for user alice: {command} token alice  (add --admin for an admin token)")
    return "\n".join(lines)


def token(user_id: str, roles: Sequence[str], ttl_minutes: int | None) -> str:
    """A token for ``user_id``, signed with the embedded default's secret; refused anywhere else."""
    api, store = ApiSettings(), StoreSettings()
    if not is_embedded(store, api):
        raise PermissionError("tokens are printed only on the embedded default; "
                              "outside it tokens come from your identity provider")
    minutes = ttl_minutes or api.token_ttl_minutes
    return issue_token(api.jwt_secret.get_secret_value(), user_id, issuer=api.jwt_issuer, audience=api.jwt_audience,
                       roles=tuple(roles), ttl=timedelta(minutes=minutes))


def _projector() -> Projector:
    store = StoreSettings()
    ledger = build_ledger(store)
    projector = Projector(ledger, make_engine(read_db_url(store, ApiSettings())), all_projections())
    projector.setup()
    return projector


def run_projector(health_port: int = 0) -> None:
    """Follow the ledger and keep every projection up to date until SIGTERM or SIGINT.

    Only the process holding the projector's lock projects (see ``service.leader``); others stand by.
    """
    from api.probes import beats_within, start_probes, store_answers
    from service.leader import Leadership, lock_for

    projector = _projector()
    leadership = Leadership("projector", lock_for("projector"))
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

    projector = _projector()  # the event store's tables, then the read tables and tracking rows
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
    projector = _projector()
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
