"""The running service: what one API process uses, built once by ``service.bootstrap.build_service``.

``start()`` creates the read tables and starts the projector (and, on the embedded default, the
in-process generation pipeline, the upload purger and the sweeper) in background threads; ``stop()``
ends them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy.engine import Engine

from generation.ports import ImageStore
from generation.templates import Catalog
from ledger import Ledger
from projections import Projector
from projections.watcher import Watcher
from service.auth import TokenVerifier
from service.health import Health
from service.idempotency import IdempotencyStore
from service.metrics import Metrics
from service.policy import Policy
from service.settings import is_embedded
from service.settings.generation import GenerationSettings
from service.settings.http import ApiSettings
from service.settings.store import StoreSettings

__all__ = ["Service", "is_embedded"]  # is_embedded: where the routes have always found it


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
    watcher: Watcher
    health: Health
    idempotency: IdempotencyStore
    verifier: TokenVerifier
    metrics: Metrics = field(default_factory=Metrics)
    images: ImageStore | None = None  # the image store: signed URLs, uploaded photos
    media: GenerationSettings = field(default_factory=GenerationSettings)
    pipeline: Any = None
    sweeper: Any = None
    purger: Any = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _threads: list[threading.Thread] = field(default_factory=list)

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
        self.metrics.gauges(self.health.gauges)
        self.watcher.start()
        if self.api.run_projector:
            thread = threading.Thread(target=self.projector.run, name="projector", daemon=True)
            thread.start()
            self._threads.append(thread)
        for part in (self.pipeline, self.sweeper, self.purger):
            if part is not None:
                part.start()

    def stop(self) -> None:
        """Stop the sweeper, the pipeline and the projector, then close the stores."""
        for part in (self.purger, self.sweeper, self.pipeline):
            if part is not None:
                part.stop()
        self.watcher.stop()
        self.projector.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self.ledger.close()
        self.engine.dispose()

    def projected(self) -> int:
        """The position every projection has reached (in this process, or as committed by another)."""
        return self.watcher.projected()

    async def reach(self, position: int | None) -> int:
        """Wait, within the configured bound, until the projections reach ``position`` (see ``Watcher.reach``)."""
        return await self.watcher.reach(position)

    def saw(self, position: int) -> None:
        """Note a ledger position known to exist (a command's outcome, or the store's head)."""
        self.watcher.saw(position)

    def readiness(self) -> dict[str, str]:
        """Each dependency's state: "ok" or what is wrong."""
        return self.health.readiness()
