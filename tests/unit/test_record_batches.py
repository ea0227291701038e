"""Record batches: every codec Kafka defines is required at start, our producers compress as set, and a batch
a consumer cannot decode is pinned to its partition and offset (FastStream's consume loop, a fake consumer)."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka import codec as codecs
from aiokafka.errors import UnsupportedCodecError
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import LogicSubscriber
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from api.cli import startup_problem
from api.messaging.batches import UnreadableBatches, missing_codecs, require_codecs
from api.messaging.broker import broker_for, compression_type, producer_options
from api.messaging.inbound import build_inbound
from api.messaging.results import add_result_consumer
from api.messaging.worker import add_worker
from api.processes.consume import run_consumers
from ledger import Ledger
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.models.local import LocalModel
from media.templates import load_catalog
from service.policy import load_policy
from service.settings.media import MediaSettings
from service.settings.messaging import MessagingSettings
from service.settings.store import StartupError

pytestmark = pytest.mark.unit
A, B = TopicPartition("affiliate.referrals", 0), TopicPartition("affiliate.referrals", 1)


def test_every_codec_kafka_defines_can_be_decompressed_here() -> None:
    assert missing_codecs() == []


def test_a_consumer_process_without_a_codec_refuses_to_start_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecs, "has_lz4", lambda: False)
    monkeypatch.setattr(codecs, "has_zstd", lambda: False)
    with pytest.raises(StartupError) as refused:
        run_consumers()  # before settings, a database or a broker are looked at
    assert startup_problem(refused.value) == (
        "cannot start the consumers: aiokafka cannot decompress lz4, zstd record batches here "
        "(install aiokafka's codec extras: pip install 'aiokafka[snappy,lz4,zstd]')")
    with pytest.raises(StartupError, match="cannot start the worker: aiokafka cannot decompress lz4, zstd"):
        require_codecs("worker")


def test_our_producers_compress_as_set_and_refuse_an_unknown_codec() -> None:
    assert compression_type(MessagingSettings()) is None
    assert producer_options(MessagingSettings(kafka_compression="zstd"))["compression_type"] == "zstd"
    assert compression_type(MediaSettings(kafka_compression="lz4")) == "lz4"
    with pytest.raises(ValidationError, match="kafka_compression"):
        MessagingSettings(kafka_compression="brotli")  # type: ignore[arg-type]


def test_faststream_reads_each_message_through_get_msg_and_swallows_codec_errors_there() -> None:
    # UnreadableBatches.watch wraps get_msg because FastStream's loop only logs an unreadable batch and sleeps:
    # if a FastStream upgrade changes that, this fails rather than the stall going silent again.
    loop = inspect.getsource(LogicSubscriber._run_consume_loop)
    assert "await self.get_msg(consumer)" in loop and "except UnsupportedCodecError" in loop


def every_consumer(tmp_path: Path) -> list[KafkaBroker]:
    """The brokers of the inbound consumers, the result consumer and the worker, as the processes build them."""
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    inbound: KafkaBroker = build_inbound(ledger, load_policy(), MessagingSettings()).broker  # type: ignore[assignment]
    settings = MediaSettings(data_dir=tmp_path)
    results, worker = broker_for(settings), broker_for(settings)
    add_result_consumer(results, ledger, settings)
    add_worker(worker, GenerationHandler(load_catalog(), LocalModel(scale=0.1), LocalStore(tmp_path),
                                         RetryPolicy(attempts=1, backoff=0, timeout=5)), settings)
    return [inbound, results, worker]


def test_every_subscriber_of_every_consumer_is_watched(tmp_path: Path) -> None:
    batches = UnreadableBatches("127.0.0.1:9092", registry=CollectorRegistry())
    for broker in every_consumer(tmp_path):
        batches.watch(broker)
        assert [s.get_msg.__qualname__ for s in broker.subscribers] == \
            ["UnreadableBatches._reading.<locals>.get_msg"] * len(broker.subscribers)


class FakeConsumer:
    """An aiokafka consumer's public face: assignment, positions, high watermarks; reading raises as told."""

    def __init__(self, positions: dict[TopicPartition, int], highwaters: dict[TopicPartition, int]) -> None:
        self.positions, self.highwaters = positions, highwaters
        self.error: Exception | None = UnsupportedCodecError("Libraries for zstd compression codec not found")
        self.record: Any = None

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters.get(tp)


class Watched:
    """UnreadableBatches around a fake subscriber, reading partitions again from a table instead of the broker."""

    def __init__(self, unreadable: dict[TopicPartition, str]) -> None:
        self.registry = CollectorRegistry()
        self.batches = UnreadableBatches("127.0.0.1:9092", registry=self.registry)
        self.read_again: list[tuple[TopicPartition, int]] = []

        async def read_at(tp: TopicPartition, offset: int) -> str | None:
            self.read_again.append((tp, offset))
            return unreadable.get(tp)

        self.batches.read_at = read_at  # type: ignore[method-assign]

        async def get_msg(consumer: FakeConsumer) -> Any:
            if consumer.error is not None:
                raise consumer.error
            return consumer.record

        subscriber = SimpleNamespace(get_msg=get_msg)
        self.batches.watch(SimpleNamespace(subscribers=[subscriber]))  # type: ignore[arg-type]
        self.get_msg = subscriber.get_msg

    def count(self, tp: TopicPartition) -> float | None:
        return self.registry.get_sample_value("studio_kafka_unreadable_batches_total",
                                              {"topic": tp.topic, "partition": str(tp.partition)})


async def test_only_the_partition_whose_batch_cannot_be_read_is_named_and_counted_on_every_read() -> None:
    watched = Watched({B: "UnsupportedCodecError: Libraries for zstd compression codec not found"})
    consumer = FakeConsumer({A: 5, B: 7}, {A: 9, B: 8})
    for _ in range(3):
        with pytest.raises(UnsupportedCodecError):
            await watched.get_msg(consumer)
    assert watched.batches.check() == ("cannot read affiliate.referrals[1] at offset 7: "
                                       "UnsupportedCodecError: Libraries for zstd compression codec not found")
    assert (watched.count(A), watched.count(B)) == (None, 3.0)
    assert watched.read_again == [(A, 5), (B, 7)]  # once: later failures at the same offset are the same batch


async def test_a_partition_that_reads_past_its_batch_or_moves_to_another_member_is_no_longer_named() -> None:
    watched = Watched({A: "CorruptRecordException: Invalid CRC", B: "CorruptRecordException: Invalid CRC"})
    consumer = FakeConsumer({A: 5, B: 7}, {A: 9, B: 8})
    with pytest.raises(UnsupportedCodecError):
        await watched.get_msg(consumer)
    assert watched.batches.check().count("cannot read") == 2

    consumer.error, consumer.record = None, SimpleNamespace(topic=A.topic, partition=A.partition, offset=5)
    assert await watched.get_msg(consumer) is consumer.record
    del consumer.positions[B]  # a rebalance gave partition 1 to another member of the group
    assert watched.batches.check() == "ok"


async def test_a_failure_no_partition_explains_is_still_logged(caplog: pytest.LogCaptureFixture) -> None:
    watched = Watched({})
    with pytest.raises(UnsupportedCodecError):
        await watched.get_msg(FakeConsumer({A: 9}, {A: 9}))
    assert watched.batches.check() == "ok"
    assert "could not decode a record batch" in caplog.text


def test_a_consumer_process_names_unreadable_batches_in_readiness_and_serves_their_count(tmp_path: Path) -> None:
    import urllib.request

    from api.probes import Probes
    from api.processes import watch_batches
    from tests.support.kafka_broker import free_port

    probes, port = Probes(), free_port()
    app = build_inbound(Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}), load_policy(), MessagingSettings())
    batches = watch_batches(app, "127.0.0.1:9092", probes, metrics_port=port)
    batches.failures.labels("affiliate.referrals", "3").inc()
    assert probes.ready["record batches"]() == "ok"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        exposed = answer.read().decode()
    assert 'studio_kafka_unreadable_batches_total{partition="3",topic="affiliate.referrals"} 1.0' in exposed


async def test_when_the_partition_cannot_be_looked_for_the_unreadable_batch_still_fails_the_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watched = Watched({})

    async def unreachable(tp: TopicPartition, offset: int) -> str | None:
        raise ConnectionError("the broker went away")

    watched.batches.read_at = unreachable  # type: ignore[method-assign]
    with pytest.raises(UnsupportedCodecError):
        await watched.get_msg(FakeConsumer({A: 5}, {A: 9}))
    assert "could not tell which partition has the unreadable batch" in caplog.text
