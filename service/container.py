"""The running service: the ledger, its projections, the API's helpers and (embedded) the pipeline.

One composition root for the HTTP process: everything is built from settings here, nothing at
import time. ``start()`` creates the read tables and starts the projector (and, on the embedded
default, the in-process generation pipeline) in background threads; ``stop()`` ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.http.auth import TokenVerifier
from api.http.problems import Problem
from generation.ports import ImageStore
from generation.settings import GenerationSettings
from generation.templates import Catalog, load_catalog
from ledger import Ledger
from projections import Projector, all_projections, queries
from projections.db import make_engine
from service.bootstrap import build_ledger
from service.idempotency import IdempotencyStore
from service.metrics import Metrics
from service.policy import Policy, load_policy
from service.settings.http import ApiSettings, UnsafeSettings, check_secrets
from service.settings.store import StoreSettings

log = logging.getLogger(__name__)


def is_embedded(store: StoreSettings, api: ApiSettings) -> bool:
    """Whether this is the embedded default: a SQLite (or memory) event store and in-process dispatch."""
    return store.store != "postgres" and api.dispatch == "inprocess"


def read_db_url(store: StoreSettings, api: ApiSettings) -> str:
    """The read database: as configured, else beside the event store (SQLite file or the same PostgreSQL)."""
    if api.read_db_url:
        return api.read_db_url
    if store.store == "memory":
        return "sqlite://"
    if store.store == "sqlite":
        store.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{store.data_dir / 'read.db'}"
    password = quote(store.postgres_password.get_secret_value(), safe="")
    user = quote(store.postgres_user, safe="") + (f":{password}" if password else "")
    return (f"postgresql+psycopg://{user}@{store.postgres_host}:{store.postgres_port}/{store.postgres_db}"
            f"?options=-csearch_path%3D{store.postgres_schema}")


@dataclass
class Service:
    """Everything one API process uses, built once."""

    api: ApiSettings
    store: StoreSettings
    ledger: Ledger
    engine: Engine
    projector: Projector
    catalog: Catalog
    policy: Policy
    verifier: TokenVerifier
    idempotency: IdempotencyStore
    metrics: Metrics = field(default_factory=Metrics)
    images: ImageStore | None = None  # the image store: signed URLs, uploaded photos
    media: GenerationSettings = field(default_factory=GenerationSettings)
    pipeline: Any = None
    sweeper: Any = None
    purger: Any = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _threads: list[threading.Thread] = field(default_factory=list)
    _relay: tuple[Any, str] | None = None
    _advanced: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None  # readers waiting for a position
    _head: int = 0  # the highest position a command of this process returned
    _heard: int | None = None  # another process projects: the position its last commit announced
    _stopping: threading.Event = field(default_factory=threading.Event)

    @cached_property
    def reads(self) -> Engine:
        """The read database for the routes' reads: autocommit, so a read costs no BEGIN and no
        ROLLBACK round trip (at PostgreSQL's READ COMMITTED each statement of a transaction would
        see its own snapshot anyway)."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def start(self) -> None:
        """Create the read tables, then start the projector and the pipeline."""
        self.projector.setup()
        self.idempotency.setup()
        self.metrics.gauges(self._gauges)
        self.projector.on_advance(self._wake_readers)
        if self.api.run_projector:
            thread = threading.Thread(target=self.projector.run, name="projector", daemon=True)
            thread.start()
            self._threads.append(thread)
        elif self.projector.channel is not None:
            thread = threading.Thread(target=self._hear_projector, args=(self.projector.channel,),
                                      name="projections-listen", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.pipeline is not None:
            self.pipeline.start()
        if self.sweeper is not None:
            self.sweeper.start()
        if self.purger is not None:
            self.purger.start()

    def stop(self) -> None:
        """Stop the sweeper, the pipeline and the projector, then close the stores."""
        if self.purger is not None:
            self.purger.stop()
        if self.sweeper is not None:
            self.sweeper.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
        self._stopping.set()
        self.projector.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self.ledger.close()
        self.engine.dispose()

    def projected(self) -> int:
        """The position every projection has reached (in this process, or as committed by another)."""
        if self.api.run_projector:
            return self.projector.position
        if self._heard is not None:
            return self._heard
        return self._tracked()

    def _tracked(self) -> int:
        with self.engine.connect() as conn:
            return min(queries.tracked_positions(conn).values(), default=0)

    async def reach(self, position: int | None) -> int:
        """Wait, within the configured bound, until the projections reach ``position``; else a 503.

        Waits on the event loop (no worker thread is held), woken by the projector each time it
        commits a page; a position beyond the ledger's head was never returned by a command, so it
        is a 409 at once.
        """
        reached = await self._projected()
        if position is None or reached >= position:
            return reached
        if position > self._head:  # not one of ours: ask the event store where its head is
            head = await anyio.to_thread.run_sync(self.ledger.recorder.max_notification_id) or 0
            self.saw(head)
            if position > head:
                raise Problem(409, "position-not-reached", "Unknown ledger position",
                              f"min_position {position} is beyond the ledger's head {head}: it was never returned")
        deadline = time.monotonic() + self.api.read_wait_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            if self.api.run_projector or self._heard is not None:
                advanced = self._advance_event()
                if (reached := await self._projected()) >= position:
                    return reached
                try:
                    await asyncio.wait_for(advanced.wait(), left if self.api.run_projector else min(left, 0.1))
                except TimeoutError:
                    if self.api.run_projector:
                        break
                    # Heard nothing for 100 ms: read the tracking rows too, in case an announcement
                    # was missed (the listener reconnecting), rather than wait the whole bound.
                    self._hear(await anyio.to_thread.run_sync(self._tracked))
            else:  # another process projects and its announcements are not heard: poll its tracking rows
                await asyncio.sleep(min(0.005, left))
            if (reached := await self._projected()) >= position:
                return reached
        raise Problem(503, "projection-behind", "Projection not caught up",
                      f"the projections reached {reached}, not yet {position}; retry shortly",
                      headers={"Retry-After": "1"}, min_position=position)

    def saw(self, position: int) -> None:
        """Note a ledger position known to exist (a command's outcome, or the store's head)."""
        self._head = max(self._head, position)

    def _advance_event(self) -> asyncio.Event:
        # The event the next projector advance sets; one per advance, shared by every waiting reader.
        loop = asyncio.get_running_loop()
        if self._advanced is None or self._advanced[1].is_set() or self._advanced[0] is not loop:
            self._advanced = (loop, asyncio.Event())
        return self._advanced[1]

    def _wake_readers(self, _position: int) -> None:
        waiting = self._advanced
        if waiting is not None and not waiting[1].is_set():
            loop, advanced = waiting
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
                loop.call_soon_threadsafe(advanced.set)

    async def _projected(self) -> int:
        if self.api.run_projector:
            return self.projector.position
        if self._heard is not None:
            return self._heard
        return await anyio.to_thread.run_sync(self.projected)

    def _hear_projector(self, channel: str) -> None:
        """Follow the announcements of a projector in another process (PostgreSQL NOTIFY): each
        commit of its pages says the position every projection reached, so waiting readers are
        woken without polling. Without a connection, readers poll the tracking rows."""
        import psycopg
        from psycopg import sql

        while not self._stopping.is_set():
            try:
                raw = self.engine.raw_connection()
                conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
                raw.detach()  # a connection of its own for as long as it listens, outside the pool
                try:
                    conn.autocommit = True
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self._hear(self._tracked())  # what was committed before listening
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=0.5, stop_after=1):
                            self._hear(int(note.payload))
                finally:
                    conn.close()
            except Exception as error:  # the read database went away: readers poll until it is back
                log.warning("not hearing the projector on %s (%s: %s); readers poll meanwhile",
                            channel, type(error).__name__, error)
                self._heard = None
                self._stopping.wait(0.5)

    def _hear(self, position: int) -> None:
        self._heard = max(self._heard or 0, position)
        self._wake_readers(self._heard)

    def readiness(self) -> dict[str, str]:
        """Each dependency's state: "ok" or what is wrong."""
        checks: dict[str, str] = {}
        try:
            head = self.ledger.recorder.max_notification_id() or 0
            checks["event_store"] = "ok"
        except Exception as error:  # any failure of the store means not ready
            head, checks["event_store"] = 0, f"unavailable: {type(error).__name__}"
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["read_database"] = "ok"
        except Exception as error:  # any failure of the read database means not ready
            checks["read_database"] = f"unavailable: {type(error).__name__}"
        lag = max(0, head - self.projected()) if checks["read_database"] == "ok" else -1
        checks["projections"] = "ok" if 0 <= lag <= self.api.ready_max_lag else f"lagging by {lag} positions"
        if self.api.dispatch == "kafka":
            checks["broker"] = _broker_reachable()
        return checks

    def _gauges(self) -> dict[str, dict[str, float]]:
        head = self.ledger.recorder.max_notification_id() or 0
        with self.engine.connect() as conn:
            statuses = queries.generations_by_status(conn)
            held = queries.pending_holds(conn)
            positions = queries.tracked_positions(conn)
        gauges: dict[str, dict[str, float]] = {
            "studio_generations": {k: float(v) for k, v in statuses.items()},
            "studio_held_credits": {"": float(held)},
            "studio_projection_lag": {k: float(max(0, head - v)) for k, v in positions.items()},
        }
        if self.api.dispatch == "kafka":
            gauges["studio_relay_lag"] = {"": float(max(0, head - self._relay_position()))}
        return gauges

    def _relay_position(self) -> int:
        from ledger.store.tracking import positions_for
        from service.settings.messaging import MessagingSettings

        if self._relay is None:
            self._relay = (positions_for(self.ledger.recorder), MessagingSettings().relay_name)
        positions, name = self._relay
        return positions.get(name)


def _broker_reachable() -> str:
    from service.settings.messaging import MessagingSettings

    servers = MessagingSettings().kafka_bootstrap_servers.split(",")
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return "ok"
        except OSError:
            continue
    return f"unreachable: {','.join(servers)}"


def build_service(api: ApiSettings | None = None, store: StoreSettings | None = None, *,
                  generation: GenerationSettings | None = None, with_pipeline: bool = True) -> Service:
    """The service from settings; refuses unsafe settings before building anything."""
    api = api or ApiSettings()
    store = store or StoreSettings()
    check_secrets(api, embedded=is_embedded(store, api))
    generation = generation or GenerationSettings(data_dir=store.data_dir)
    weak = generation.weak_media_key(embedded=is_embedded(store, api))
    if weak:
        raise UnsafeSettings(weak)
    catalog = load_catalog(generation.templates_dir)
    ledger = build_ledger(store)
    engine = make_engine(read_db_url(store, api))
    verifier = TokenVerifier(algorithm=api.jwt_algorithm, secret=api.jwt_secret.get_secret_value(),
                             issuer=api.jwt_issuer, audience=api.jwt_audience, jwks_url=api.jwks_url)
    service = Service(api=api, store=store, ledger=ledger, engine=engine,
                      projector=Projector(ledger, engine, all_projections()), catalog=catalog,
                      policy=load_policy(api.policy_file), verifier=verifier, idempotency=IdempotencyStore(engine),
                      images=_image_store(generation), media=generation)
    if with_pipeline and api.run_pipeline and api.dispatch == "inprocess":
        service.pipeline = _pipeline(ledger, catalog, generation, store)
    if with_pipeline and generation.upload_purge_interval_s > 0 and service.images is not None:
        from service.uploads import UploadPurger

        service.purger = UploadPurger(service.images, lambda: _uploads_in_use(engine), service.clock,
                                      generation.upload_purge_interval_s)
    if with_pipeline and api.run_sweeper:
        from service.sweeper import Sweeper, SweepLoop

        service.sweeper = SweepLoop(Sweeper(ledger), interval=generation.sweep_interval_s)
    return service


def _uploads_in_use(engine: Engine) -> set[str]:
    from projections.generations import uploads_in_use

    with engine.connect() as conn:
        return uploads_in_use(conn)


def _image_store(settings: GenerationSettings) -> ImageStore:
    from generation.bootstrap import build_image_store

    return build_image_store(settings)


def _pipeline(ledger: Ledger, catalog: Catalog, settings: GenerationSettings, store: StoreSettings) -> Any:
    from generation.bootstrap import build_image_model, build_image_store
    from generation.inputs import InputPhotos
    from service.inprocess import InProcessPipeline

    position_file = None if store.store == "memory" else store.data_dir / "dispatch.position"
    images = build_image_store(settings)
    return InProcessPipeline(ledger, catalog, build_image_model(settings), images, position_file=position_file,
                             inputs=InputPhotos(images, settings.fetcher(allow_http=store.store != "postgres")))
