"""The running service: what one API process uses, built once by ``service.bootstrap.build_service``.

``start()`` creates the read tables and starts the projector (and, on the embedded default, the
in-process generation pipeline, the upload purger and the sweeper) in background threads; ``stop()``
ends them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ledger import Ledger
from media.moderation import Moderator
from media.ports import ImageStore
from media.templates import TemplateCatalog
from projections import Projector
from projections.watcher import Watcher
from service.alert_delivery import create_delivery_log
from service.auth import TokenVerifier
from service.health import Health
from service.idempotency import IdempotencyStore
from service.leader import LeadingPart, lock_for
from service.limits import Limits
from service.liveness import thread_state
from service.metrics import Metrics
from service.platform import PlatformWallet
from service.policy import Policy
from service.settings import is_embedded
from service.settings.api import ApiSettings
from service.settings.finance import FinanceSettings
from service.settings.media import MediaSettings
from service.settings.store import StoreSettings

if TYPE_CHECKING:  # the parts the embedded default runs beside the API; bootstrap builds them when asked
    from service.inprocess import InProcessPipeline
    from service.sweeper import SweepLoop
    from service.uploads import UploadPurger

__all__ = ["Service", "is_embedded"]  # is_embedded: where the routes have always found it


@dataclass
class Service:
    """Everything one API process uses, built once."""

    api: ApiSettings
    store: StoreSettings
    ledger: Ledger
    engine: Engine
    projector: Projector
    catalog: TemplateCatalog
    policy: Policy
    watcher: Watcher
    health: Health
    idempotency: IdempotencyStore
    verifier: TokenVerifier
    metrics: Metrics = field(default_factory=Metrics)
    images: ImageStore | None = None  # the image store: signed URLs, uploaded photos
    media: MediaSettings = field(default_factory=MediaSettings)
    limits: Limits = field(default_factory=lambda: Limits.of(ApiSettings()))  # per learner, and the lanes
    moderator: Moderator | None = None  # the learner's words, checked before any credit is held
    pipeline: InProcessPipeline | None = None
    sweeper: SweepLoop | None = None
    purger: UploadPurger | None = None
    platform: PlatformWallet | None = None  # the platform's wallet recharges debit; None: recharges are off
    recharge_deadline: timedelta = timedelta(minutes=15)  # a recharge unresolved by then is a finding
    finance: FinanceSettings = field(default_factory=FinanceSettings)  # the reporting currency and rates
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _threads: list[threading.Thread] = field(default_factory=list)
    _parts: list[LeadingPart] = field(default_factory=list)
    _checks: dict[str, Callable[[], str]] = field(default_factory=dict)  # each part's liveness, by name

    @cached_property
    def reads(self) -> Engine:
        """The read database for the routes' reads: autocommit, so a read costs no BEGIN and no
        ROLLBACK round trip (at PostgreSQL's READ COMMITTED each statement of a transaction would
        see its own snapshot anyway)."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def start(self) -> None:
        """Create the read tables, then start the projector, the pipeline and the sweeper. On PostgreSQL
        each of those works only while this process holds the lock named after it (the one the
        `projector` and `sweep --loop` processes take): any number of API replicas started with the
        same settings run each once between them, and a standby takes over when the leader goes."""
        self.projector.setup()
        self.idempotency.setup()
        if hasattr(self.catalog, "start"):  # the stored catalog: reread the templates as they are published
            self.catalog.start()
        create_delivery_log(self.engine)  # an operator reads it even where no alert webhook is set
        self.metrics.gauges(self.health.gauges)
        parts: list[tuple[str, Callable[[], object], Callable[[], object]]] = []
        if self.api.run_projector:
            parts.append(("projector", self._start_projector, self.stop_projector))
            self._checks["projector"] = self._projector_state
        for name, part in (("pipeline", self.pipeline), ("sweeper", self.sweeper)):
            if part is not None:
                parts.append((name, part.start, part.stop))
                self._checks[name] = part.check
        if self.store.backend == "postgres":
            self._parts = [LeadingPart(name, lock_for(name, self.store), start, stop) for name, start, stop in parts]
            projecting = next((p for p in self._parts if p.name == "projector"), None)
            self.watcher.follow(lambda: projecting is not None and projecting.leads)
        self.watcher.start()
        for leading in self._parts:
            leading.begin()
        if not self._parts:
            for _, start, _ in parts:
                start()
        if self.purger is not None:
            self.purger.start()
            self._checks["purger"] = self.purger.check

    def stop(self) -> None:
        """Stop the sweeper, the pipeline and the projector (giving their locks up), then close the stores."""
        if self.purger is not None:
            self.purger.stop()
        if self._parts:
            for leading in reversed(self._parts):
                leading.end()
        else:
            for part in (self.sweeper, self.pipeline):
                if part is not None:
                    part.stop()
            self.stop_projector()
        self.watcher.stop()
        if hasattr(self.catalog, "stop"):
            self.catalog.stop()
        self.ledger.close()
        self.engine.dispose()

    def leading(self) -> dict[str, str]:
        """Which of the projector, pipeline and sweeper work in this process ("leader") and which stand by."""
        return {part.name: part.role for part in self._parts}

    def parts(self) -> dict[str, str]:
        """Each background part this process runs: "ok" or what stopped it. A part standing by for another
        replica's lock does not run here, and is left to ``leading()``."""
        standing_by = {part.name for part in self._parts if not part.leads}
        return {name: check() for name, check in self._checks.items() if name not in standing_by}

    def _projector_state(self) -> str:
        return thread_state(self._threads[-1] if self._threads else None)

    def _start_projector(self) -> None:
        self.projector.setup()  # where the previous leader left the projections, when taking over
        thread = threading.Thread(target=self.projector.run, name="projector", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop_projector(self) -> None:
        """Stop this process's projector and wait for its thread: nothing is applied once this returns (its
        ``stop()`` alone only asks the thread to stop after the page it is applying)."""
        self.projector.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def projected(self) -> int:
        """The position every projection has reached (in this process, or as committed by another)."""
        return self.watcher.projected()

    async def reach(self, position: int | None) -> int:
        """Wait, within the configured bound, until the projections reach ``position`` (see ``Watcher.reach``)."""
        return await self.watcher.reach(position)

    async def settle(self) -> int:
        """Wait, within the configured bound, until the projections reach the ledger's head (see ``Watcher.settle``)."""
        return await self.watcher.settle()

    def saw(self, position: int) -> None:
        """Note a ledger position known to exist (a command's outcome, or the store's head)."""
        self.watcher.saw(position)

    def readiness(self) -> dict[str, str]:
        """Each dependency's and each background part's state: "ok" or what is wrong."""
        return {**self.health.readiness(), **self.parts()}

    def set_aside(self) -> list[str]:
        """The events projections set aside, each with its position and reason (see ``Health.set_aside``)."""
        return self.health.set_aside()
