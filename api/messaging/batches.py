"""Record batches the consumers cannot read: every codec Kafka defines, and no silent stall.

Producers outside the project (Java clients, librdkafka) compress their batches with gzip, snappy, lz4
or zstd; aiokafka decodes the last three only with its codec extras (cramjam), so a consumer process
refuses to start without them. A batch that still cannot be read (a codec library gone, a corrupt
batch) keeps its partition where it is, since skipping it would lose messages nobody has seen; but it
is named, with its topic, partition and offset, in readiness, in a Prometheus counter and in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition, codec
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter

from service.settings.store import StartupError

log = logging.getLogger(__name__)
CODECS = ("gzip", "snappy", "lz4", "zstd")  # every compression codec of Kafka's record batch format
UNREADABLE = (UnsupportedCodecError, CorruptRecordException)  # what reading a batch raises that no retry cures
Read = Callable[[Any], Awaitable[Any]]


def missing_codecs() -> list[str]:
    """The compression codecs Kafka defines that aiokafka cannot decompress in this environment."""
    # aiokafka.codec's has_<codec>(), looked up at call time, as aiokafka itself does before decoding a batch.
    return [name for name in CODECS if not getattr(codec, f"has_{name}")()]


def require_codecs(process: str) -> None:
    """Refuse to start ``process`` (one line) when a batch compressed with one of Kafka's codecs could not be read."""
    missing = missing_codecs()
    if missing:
        raise StartupError(f"cannot start the {process}: aiokafka cannot decompress {', '.join(missing)} record "
                           "batches here (install aiokafka's codec extras: pip install 'aiokafka[snappy,lz4,zstd]')")


@dataclass(frozen=True)
class Stuck:
    """A partition a consumer cannot read past: the offset of the batch and why."""

    offset: int
    reason: str
    consumer: Any  # the AIOKafkaConsumer that has the partition


class UnreadableBatches:
    """The partitions whose next batch a broker's consumers cannot decode, for readiness, a counter and the log."""

    def __init__(self, bootstrap_servers: str, *, registry: CollectorRegistry, read_within: float = 5.0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.read_within = read_within
        self.stuck: dict[TopicPartition, Stuck] = {}
        self.failures = Counter("studio_kafka_unreadable_batches", "Reads of a record batch that could not be "
                                "decoded (codec missing, corrupt batch), by topic and partition; it rises while a "
                                "partition is stuck", ["topic", "partition"], registry=registry)

    def watch(self, broker: KafkaBroker) -> None:
        """Note what every subscriber of ``broker`` cannot read (call once its routers are included)."""
        for subscriber in broker.subscribers:
            # FastStream's consume loop reads each message through ``get_msg`` and, on a batch it cannot
            # decode, only logs and sleeps; wrapping it is where the partition and offset are still known.
            subscriber.get_msg = self._reading(subscriber.get_msg)  # type: ignore[attr-defined]

    def check(self) -> str:
        """Readiness: "ok", or each partition a consumer cannot read past, with the offset and the reason."""
        stuck = sorted((tp, s) for tp, s in list(self.stuck.items()) if tp in s.consumer.assignment())
        return "; ".join(f"cannot read {tp.topic}[{tp.partition}] at offset {s.offset}: {s.reason}"
                         for tp, s in stuck) or "ok"

    def _reading(self, read: Read) -> Read:
        async def get_msg(consumer: Any) -> Any:
            try:
                record = await read(consumer)
            except UNREADABLE as error:
                try:
                    await self.failed(consumer, error)
                except Exception:  # looking for the partition must never hide the error it looks for
                    log.exception("could not tell which partition has the unreadable batch (%r)", error)
                raise  # FastStream logs it and reads again after a pause
            self.passed(record)
            return record

        return get_msg

    async def failed(self, consumer: Any, error: Exception) -> None:
        """Find the partition whose batch ``consumer`` could not decode; count it, name it in the log."""
        known = [tp for tp, s in list(self.stuck.items())
                 if s.consumer is consumer and tp in consumer.assignment() and await consumer.position(tp) == s.offset]
        found = known or await self.locate(consumer)
        for tp in found:
            self.failures.labels(tp.topic, str(tp.partition)).inc()
        if not found:
            log.error("a consumer could not decode a record batch of %s, and reading each partition again from "
                      "its position did not show which: %r", sorted(consumer.assignment()), error)

    async def locate(self, consumer: Any) -> list[TopicPartition]:
        """The partitions of ``consumer`` whose next batch cannot be read: each one behind its high watermark,
        read again from its position by a consumer of its own (the one that failed cannot say which it was)."""
        fetched = [tp for tp in sorted(consumer.assignment()) if consumer.highwater(tp) is not None]
        behind = [(tp, offset) for tp in fetched if (offset := await consumer.position(tp)) < consumer.highwater(tp)]
        reasons = await asyncio.gather(*(self.read_at(tp, offset) for tp, offset in behind))
        found = []
        for (tp, offset), reason in zip(behind, reasons, strict=True):
            if reason is None:
                continue
            self.stuck[tp] = Stuck(offset=offset, reason=reason, consumer=consumer)
            log.error("cannot read %s[%d] at offset %d: %s; the partition waits there until the batch can be read "
                      "(a missing codec installed, or the group's offset moved past a corrupt batch)",
                      tp.topic, tp.partition, offset, reason)
            found.append(tp)
        return found

    async def read_at(self, tp: TopicPartition, offset: int) -> str | None:
        """Why the batch at ``offset`` of ``tp`` cannot be read, or None if it can (or nothing came in time)."""
        reader = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False)
        try:
            await reader.start()
            reader.assign([tp])
            reader.seek(tp, offset)
            await reader.getmany(tp, timeout_ms=int(self.read_within * 1000), max_records=1)
        except UNREADABLE as error:
            return str(error)  # aiokafka's errors start with their class name
        finally:
            await reader.stop()
        return None

    def passed(self, read: Any) -> None:
        """Messages were read (one record, or a batch subscriber's tuple): a partition stuck before one reads again."""
        for record in read if isinstance(read, tuple) else (read,) if read else ():
            tp = TopicPartition(record.topic, record.partition)
            stuck = self.stuck.get(tp)
            if stuck is not None and record.offset >= stuck.offset:
                del self.stuck[tp]
                log.info("%s[%d] reads again from offset %d", tp.topic, tp.partition, stuck.offset)
