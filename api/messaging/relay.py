"""The tracked relay (outbox): every committed ledger event reaches Kafka, at least once, in order.

It follows the notification log from the position it recorded and publishes it page by page; it
records a page's last position only once the broker acknowledged every record up to it. After a
crash it resumes from there: an event may be published twice (consumers deduplicate by
``event_id``), never lost. Reading, sending and waiting for acknowledgements overlap.
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
from aiokafka.partitioner import DefaultPartitioner
from eventsourcing.persistence import Notification
from opentelemetry.trace import SpanKind

from api.messaging.broker import producer_options
from api.messaging.envelope import TRACE_HEADER, records
from ledger.event_store.follow import Follower, Stored
from ledger.event_store.tracking import Positions, positions_for
from service import tracing
from service.settings.messaging import MessagingSettings

log = logging.getLogger(__name__)
RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # between attempts to reach a store that went away


def published_headers(topic: str, headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """A record's headers as published: with tracing on, a span of the publication, the child of the request
    that recorded the event (however long ago), whose context the record carries on to its consumers."""
    if not tracing.enabled():  # the relay's hot path: nothing more when off
        return headers
    parent = dict(headers).get(TRACE_HEADER)
    if parent is None:
        return headers
    with tracing.span(f"{topic} publish", parent=parent.decode("ascii", "replace"), kind=SpanKind.PRODUCER,
                      attributes={"messaging.system": "kafka", "messaging.destination.name": topic}):
        carried = tracing.traceparent()
    return [(name, value) for name, value in headers if name != TRACE_HEADER] + [(TRACE_HEADER, carried.encode())]


class NotificationFollower(Follower):
    """A follower whose pages carry the stored notifications as they are: the relay needs no domain events."""

    def _decode(self, notification: Notification) -> Stored:
        return Stored(notification.id, notification)


class Relay:
    """Publishes the ledger's events to Kafka from its tracked position until stopped."""

    def __init__(self, app: Any, settings: MessagingSettings, *, positions: Positions | None = None,
                 debits: bool = False) -> None:
        if app.mapper.cipher is not None or app.mapper.compressor is not None:
            raise ValueError("the relay publishes the stored JSON: it cannot follow an encrypted or compressed store")
        self.app = app
        self.settings = settings
        self.name = settings.relay_name
        # debits: the platform's wallet is asked over Kafka (STUDIO_PLATFORM_TRANSPORT=kafka)
        self._topics = (settings.events_topic, settings.generation_requested_topic,
                        settings.payments_requests_topic if debits else None)
        self.positions = positions or positions_for(app.recorder)
        self.position = 0
        self.published = 0
        self._follower: Follower | None = None
        self._stopping = threading.Event()
        self._pages: queue.Queue[list[Stored]] = queue.Queue(maxsize=2)
        self.window = 4  # pages sent but not yet acknowledged
        self._partitioner = DefaultPartitioner()
        self._opened = getattr(app, "open_sealed", None)

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
        """Follow the log and publish until ``stop()``; positions are recorded after each acked page.

        Up to ``window`` pages are in flight at once; their positions are recorded in log order, each
        once the broker acknowledged every record up to it. A failure the producer could not retry
        ends the run: started again, the relay resumes from the last recorded position.
        """
        self.position = await asyncio.to_thread(self.positions.get, self.name)
        producer = AIOKafkaProducer(**producer_options(self.settings))
        await producer.start()
        in_flight: asyncio.Queue[tuple[int, asyncio.Future[Any]] | None] = asyncio.Queue(maxsize=self.window)
        recording = asyncio.create_task(self._record(in_flight))
        reader = threading.Thread(target=self._read, name=f"{self.name}-read", daemon=True)
        reader.start()
        try:
            while not self._stopping.is_set() and not recording.done():
                page = await asyncio.to_thread(self._next_page)
                if page:
                    acks = await self._send(producer, page)
                    await in_flight.put((page[-1].position, acks))
        finally:
            self._stopping.set()
            if not recording.done():
                await in_flight.put(None)
            try:
                await recording  # records what the broker acknowledged; raises what it could not
            finally:
                await producer.stop()
                await asyncio.to_thread(reader.join, 5.0)

    async def _send(self, producer: AIOKafkaProducer, page: list[Stored]) -> asyncio.Future[Any]:
        # Records are grouped into one batch per partition, in log order, with the default
        # partitioner's choice for each key: as send() would, without a future per record.
        batches: dict[tuple[str, int], list[tuple[bytes, bytes, list[tuple[str, bytes]]]]] = {}
        partitions: dict[str, list[int]] = {}
        chosen: dict[tuple[str, bytes], int] = {}
        for stored in page:
            for topic, key, value, stored_headers in records(stored.event, *self._topics, opened=self._opened):
                headers = published_headers(topic, stored_headers)
                if topic not in partitions:
                    partitions[topic] = sorted(await producer.partitions_for(topic))
                if (topic, key) not in chosen:
                    chosen[topic, key] = self._partitioner(key, partitions[topic], partitions[topic])
                batches.setdefault((topic, chosen[topic, key]), []).append((key, value, headers))
        acks = []
        for (topic, partition), items in batches.items():
            batch = producer.create_batch()
            for key, value, headers in items:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    acks.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None, headers=headers)
            acks.append(await producer.send_batch(batch, topic, partition=partition))
            self.published += len(items)
        return asyncio.gather(*acks)

    async def _record(self, in_flight: asyncio.Queue[tuple[int, asyncio.Future[Any]] | None]) -> None:
        while (item := await in_flight.get()) is not None:
            position, acks = item
            try:
                await acks
            except KafkaError as error:
                log.error("the broker did not acknowledge the events up to position %s: %s", position, error)
                raise
            await self._store_position(position)
            self.position = position

    async def _store_position(self, position: int) -> None:
        failures = 0
        while True:
            try:
                await asyncio.to_thread(self.positions.put, self.name, position)
                return
            except Exception as error:  # the store is unreachable: the events are out, record them later
                if self._stopping.is_set():
                    raise
                log.warning("recording position %s failed (%s); retrying", position, error)
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1

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
            follower = NotificationFollower(self.app, after=position, page_size=self.settings.relay_page_size)
            self._follower = follower
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
