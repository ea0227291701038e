"""The tracked relay (outbox): every committed ledger event reaches Kafka, at least once, in order.

It follows the notification log from the position it recorded, publishes a page, waits until the
broker acknowledged all of it, and only then records the page's last position. After a crash it
resumes from there: an event may be published twice (consumers deduplicate by ``event_id``),
never lost. Reading the next page overlaps with publishing the current one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from api.messaging.envelope import records
from api.messaging.positions import Positions, positions_for
from api.messaging.settings import MessagingSettings
from ledger.follow import Follower, Stored

log = logging.getLogger(__name__)
RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def producer_options(settings: MessagingSettings) -> dict[str, Any]:
    """Producer settings for events: every replica acknowledges, idempotent where supported, batched."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotence,
        "linger_ms": settings.kafka_linger_ms,
        "max_batch_size": settings.kafka_max_batch_bytes,
    }


class Relay:
    """Publishes the ledger's events to Kafka from its tracked position until stopped."""

    def __init__(self, app: Any, settings: MessagingSettings, *, positions: Positions | None = None) -> None:
        self.app = app
        self.settings = settings
        self.name = settings.relay_name
        self._topics = (settings.events_topic, settings.generation_requested_topic)
        self.positions = positions or positions_for(app.recorder)
        self.position = 0
        self.published = 0
        self._follower: Follower | None = None
        self._stopping = threading.Event()
        self._pages: queue.Queue[list[Stored]] = queue.Queue(maxsize=2)

    @property
    def lag(self) -> int:
        """Events stored but not yet acknowledged by the broker (an upper bound: ids have gaps)."""
        return max(0, (self.app.recorder.max_notification_id() or 0) - self.position)

    def stop(self) -> None:
        """Ask the relay to finish the page in flight and return from ``run``."""
        self._stopping.set()
        if self._follower is not None:
            self._follower.stop()

    async def run(self) -> None:
        """Follow the log and publish until ``stop()``; positions are recorded after each acked page."""
        self.position = await asyncio.to_thread(self.positions.get, self.name)
        producer = AIOKafkaProducer(**producer_options(self.settings))
        await producer.start()
        reader = threading.Thread(target=self._read, name=f"{self.name}-read", daemon=True)
        reader.start()
        try:
            while not self._stopping.is_set():
                page = await asyncio.to_thread(self._next_page)
                if page:
                    await self._publish(producer, page)
                    await asyncio.to_thread(self.positions.put, self.name, page[-1].position)
                    self.position = page[-1].position
        finally:
            self._stopping.set()
            await producer.stop()
            await asyncio.to_thread(reader.join, 5.0)

    async def _publish(self, producer: AIOKafkaProducer, page: list[Stored]) -> None:
        for attempt in range(len(RETRY_DELAYS) + 1):
            try:
                sent = [await producer.send(topic, value, key=key, headers=headers)
                        for stored in page for topic, key, value, headers in records(stored, *self._topics)]
                await asyncio.gather(*sent)
                self.published += len(sent)
                return
            except KafkaError as error:
                if attempt == len(RETRY_DELAYS) or self._stopping.is_set():
                    raise
                log.warning("publishing after position %s failed (%s); retrying", self.position, error)
                await asyncio.sleep(RETRY_DELAYS[attempt])

    def _next_page(self) -> list[Stored]:
        while not self._stopping.is_set():
            try:
                return self._pages.get(timeout=0.1)
            except queue.Empty:
                continue
        return []

    def _read(self) -> None:
        position, failures = self.position, 0
        while not self._stopping.is_set():
            follower = self._follower = Follower(self.app, after=position, page_size=self.settings.relay_page_size)
            if self._stopping.is_set():
                break
            try:
                for page in follower.pages():
                    self._hand_over(page)
                    position, failures = page[-1].position, 0
            except Exception as error:  # the store is unreachable: back off and follow again
                log.warning("reading the ledger after position %s failed (%s); retrying", position, error)
                time.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1
            finally:
                follower.stop()

    def _hand_over(self, page: list[Stored]) -> None:
        while not self._stopping.is_set():
            try:
                self._pages.put(page, timeout=0.1)
                return
            except queue.Full:
                continue
