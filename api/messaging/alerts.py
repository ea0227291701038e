"""Wallet alerts on Kafka (``wallet.alerts``, keyed by the learner): each ``wallet_alerts`` row published once.

Run beside the relay, under its lock. Each alert is logged with where it landed once the broker acknowledged
it (``service.alert_publishing``). At start the topic's records after the last logged offset of each
partition are logged first: those are alerts acknowledged just before a crash, so they are never published
a second time, and none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from api.messaging.broker import producer_options
from api.messaging.envelope import encode
from service.alert_publishing import create_publication_log, last_offsets, record, unpublished
from service.settings.messaging import MessagingSettings

log = logging.getLogger(__name__)
BATCH = 200
HEADER = "alert_id"


def _now() -> datetime:
    return datetime.now(UTC)


class AlertPublisher:
    """Publishes the alerts not yet published, every ``interval`` seconds, until stopped."""

    def __init__(self, engine: Engine, settings: MessagingSettings, *, interval: float = 1.0,
                 clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self.settings = settings
        self.topic = settings.alerts_topic
        self.interval = interval
        self.clock = clock
        self.published = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in flight and return from ``run``."""
        self._stopping.set()

    async def run(self) -> None:
        """Log what reached the topic unlogged, then publish until ``stop()``."""
        await asyncio.to_thread(create_publication_log, self.engine)
        producer = AIOKafkaProducer(**producer_options(self.settings))
        await producer.start()
        try:
            await self.reconcile(producer)
            while not self._stopping.is_set():
                if not await self.publish_once(producer):
                    with contextlib.suppress(TimeoutError):  # nothing new: wait, or stop at once
                        await asyncio.wait_for(self._stopping.wait(), self.interval)
        finally:
            await producer.stop()

    async def reconcile(self, producer: AIOKafkaProducer) -> int:
        """Log the alerts on the topic after each partition's last logged offset; how many."""
        partitions = sorted(await producer.partitions_for(self.topic))
        logged = await asyncio.to_thread(last_offsets, self.engine)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        found: list[tuple[str, int, int]] = []
        try:
            wanted = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(wanted)
            ends = await consumer.end_offsets(wanted)
            starts = await consumer.beginning_offsets(wanted)
            todo = {tp for tp in wanted if max(logged.get(tp.partition, -1) + 1, starts[tp]) < ends[tp]}
            for tp in todo:
                consumer.seek(tp, max(logged.get(tp.partition, -1) + 1, starts[tp]))
            while todo:
                batch = await consumer.getmany(*todo, timeout_ms=500)
                for tp, records in batch.items():
                    found += [(dict(r.headers)[HEADER].decode(), tp.partition, r.offset) for r in records
                              if HEADER in dict(r.headers)]
                todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
        finally:
            await consumer.stop()
        count = await asyncio.to_thread(record, self.engine, found, at=self.clock())
        if count:
            log.info("%s alerts were on %s before a restart and not logged: logged now, not published again",
                     count, self.topic)
        return count

    async def publish_once(self, producer: AIOKafkaProducer) -> int:
        """Publish one batch of alerts not yet published and log each once acknowledged; how many."""
        try:
            alerts = await asyncio.to_thread(unpublished, self.engine, limit=BATCH)
        except DBAPIError as error:  # the read tables not there yet, or the database away: the next turn
            log.warning("alerts not read this time: %s", error.orig)
            return 0
        if not alerts:
            return 0
        sent = [await producer.send(self.topic, key=a["user_id"].encode(), value=encode(a),
                                    headers=[(HEADER, a["alert_id"].encode()), ("type", b"WalletAlert")])
                for a in alerts]
        acked = await asyncio.gather(*sent)  # a refusal ends the run: a restart logs what did land
        await asyncio.to_thread(record, self.engine,
                                [(a["alert_id"], m.partition, m.offset) for a, m in zip(alerts, acked, strict=True)],
                                at=self.clock())
        self.published += len(alerts)
        return len(alerts)
