"""The whole Kafka pipeline in one process (relay, worker, results) and waiting for a generation to finish."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from faststream.kafka import KafkaBroker

from api.messaging.broker import broker_for
from api.messaging.worker import add_worker
from ledger import Generation, Ledger, Money
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.models.local import LocalModel
from media.templates import load_catalog
from service.settings.media import MediaSettings

ROOT = Path(__file__).parents[2]
VARIABLES = {"event": "Data Day", "date": "May 3"}


@dataclass
class Pipeline:
    """A ledger with its relay and result consumer running, and settings for workers."""

    ledger: Ledger
    settings: MediaSettings
    data_dir: Path
    brokers: list[KafkaBroker] = field(default_factory=list)

    async def start_worker(self, *, delay: float = 0.0, group: str | None = None) -> KafkaBroker:
        """A worker of the group (or of ``group``) on this event loop, with the local model."""
        handler = GenerationHandler(load_catalog(), LocalModel(scale=0.1, delay=delay), LocalStore(self.data_dir),
                                    RetryPolicy(attempts=2, backoff=0.05, timeout=30))
        broker = broker_for(self.settings)
        settings = self.settings.model_copy(update={"worker_group": group}) if group else self.settings
        add_worker(broker, handler, settings)
        await broker.start()
        self.brokers.append(broker)
        return broker

    def worker_process(self, log: Path, *, delay: float) -> subprocess.Popen[bytes]:
        """``studio-ledger worker`` in its own process group."""
        s = self.settings
        env = {**os.environ, "STUDIO_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
               "STUDIO_GENERATION_REQUESTED_TOPIC": s.generation_requested_topic,
               "STUDIO_GENERATION_COMPLETED_TOPIC": s.generation_completed_topic,
               "STUDIO_GENERATION_FAILED_TOPIC": s.generation_failed_topic,
               "STUDIO_WORKER_GROUP": s.worker_group, "STUDIO_DATA_DIR": str(self.data_dir),
               "STUDIO_CONSUMER_SESSION_TIMEOUT_MS": str(s.consumer_session_timeout_ms),
               "STUDIO_CONSUMER_REBALANCE_TIMEOUT_MS": str(s.consumer_rebalance_timeout_ms),
               "STUDIO_IMAGE_PROVIDER": "local", "STUDIO_IMAGE_STORE": "local", "STUDIO_LOCAL_SCALE": "0.1",
               "STUDIO_LOCAL_DELAY_S": str(delay)}
        with log.open("wb") as out:
            return subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def fund(self, user: str, credits: int = 10) -> None:
        self.ledger.purchase(user_id=user, payment_id=f"pay-{user}", pack_id="starter", amount=credits,
                             price=Money(100 * credits, "INR"), at=datetime.now(UTC))

    def request(self, user: str, key: str = "k1", template_id: str = "teaser-banner",
                ttl: timedelta = timedelta(minutes=15)) -> UUID:
        outcome = self.ledger.request_generation(
            user_id=user, request_key=key, template_id=template_id, template_version=1, variables=VARIABLES,
            input_image=None, cost=3, at=datetime.now(UTC), hold_ttl=ttl)
        return UUID(str(outcome.value))


async def finished(ledger: Ledger, gen: UUID, *, within: float = 40.0,
                   done: Callable[[Generation], bool] = lambda g: g.is_finished) -> Generation:
    """The generation once ``done`` holds for it; fails the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(ledger.generation, gen)
        if found is not None and done(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"generation {gen} did not finish within {within}s")
