"""Inbound topics written by a partner's producer that is not aiokafka (librdkafka, as Java and most other
clients do), with every codec Kafka defines: each message applied, a malformed one dead-lettered, and a
batch the consumers cannot read named in readiness, a counter and the log instead of a silent stall."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import codec as codecs
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from api.messaging.batches import UnreadableBatches
from api.messaging.inbound import build_inbound
from ledger import Ledger
from service.policy import load_policy
from service.settings.messaging import MessagingSettings
from tests.support.inbound_kafka import available, eventually, messaging_settings, purchase, referral
from tests.support.kafka_broker import KAFKA_CODECS, compression_of, create_topics, produce_foreign, read_topic

pytestmark = pytest.mark.integration


class Running:
    """The inbound consumers on a real broker, watched for batches they cannot read."""

    def __init__(self, ledger: Ledger, settings: MessagingSettings) -> None:
        self.ledger, self.settings = ledger, settings
        self.registry = CollectorRegistry()
        self.batches = UnreadableBatches(settings.kafka_bootstrap_servers, registry=self.registry)
        app = build_inbound(ledger, load_policy(), settings, retry_delays=(0.1, 0.2))
        self.broker: KafkaBroker = app.broker  # type: ignore[assignment]
        self.batches.watch(self.broker)

    def unreadable_reads(self, topic: str) -> float:
        """The counter's value for partition 0 of ``topic``."""
        value = self.registry.get_sample_value("studio_kafka_unreadable_batches_total",
                                               {"topic": topic, "partition": "0"})
        return value or 0.0


@pytest.fixture
async def inbound(pg_env: dict[str, str], kafka_bootstrap: str) -> AsyncIterator[Running]:
    """Topics of this test only; the consumers are started by the test, once its messages are on the broker."""
    settings = messaging_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.payments_topic, settings.referrals_topic)
    ledger = Ledger(pg_env)
    running = Running(ledger, settings)
    yield running
    await running.broker.stop()
    ledger.close()


def padded(body: bytes) -> bytes:
    """The message with a field the schema ignores, so that a batch of them compresses (librdkafka sends a
    batch uncompressed when compressing would not make it smaller)."""
    return json.dumps({**json.loads(body), "note": "sent by the partner's librdkafka producer " * 8}).encode()


async def test_every_codec_from_a_librdkafka_producer_is_applied_and_a_malformed_message_dead_lettered(
    inbound: Running,
) -> None:
    servers, s = inbound.settings.kafka_bootstrap_servers, inbound.settings
    for codec in KAFKA_CODECS:
        await produce_foreign(servers, s.payments_topic, compression=codec, values=[
            *(padded(purchase(f"pay-{codec}-{n}", user=f"buyer-{codec}")) for n in range(3)),
            b"{not json, compressed with " + codec.encode() + b"}"])
        await produce_foreign(servers, s.referrals_topic, compression=codec, values=[
            padded(referral(f"ref-{codec}-{n}", referrer=f"referrer-{codec}", referee=f"referee-{codec}-{n}"))
            for n in range(3)])

    await inbound.broker.start()

    buyers = [f"buyer-{codec}" for codec in KAFKA_CODECS]
    referrers = [f"referrer-{codec}" for codec in KAFKA_CODECS]
    await eventually(lambda: {u: available(inbound.ledger, u) for u in buyers + referrers},
                     {**{u: 300 for u in buyers}, **{u: 150 for u in referrers}}, within=40)  # 3 x 100, 3 x 50
    dead = await read_topic(servers, f"{s.payments_topic}.dlq", len(KAFKA_CODECS), quiet=0.5)
    assert [(dict(r.headers)["x-error"], r.value) for r in dead] == [
        (b"invalid-json", b"{not json, compressed with " + codec.encode() + b"}") for codec in KAFKA_CODECS]
    assert inbound.batches.check() == "ok"


@pytest.mark.parametrize("codec", KAFKA_CODECS)
async def test_each_codec_really_compresses_what_the_foreign_producer_sends(kafka_bootstrap: str, codec: str) -> None:
    # Without this, a producer that quietly sent plain batches would make the test above prove nothing.
    settings = messaging_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.payments_topic)
    await produce_foreign(kafka_bootstrap, settings.payments_topic, compression=codec,
                          values=[padded(purchase(f"pay-{n}")) for n in range(3)])
    assert await compression_of(kafka_bootstrap, settings.payments_topic, codec) == \
        f"UnsupportedCodecError: Libraries for {codec} compression codec not found"


async def test_a_batch_the_consumers_cannot_decode_is_named_in_readiness_a_counter_and_the_log_then_applied(
    inbound: Running, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    servers, s = inbound.settings.kafka_bootstrap_servers, inbound.settings
    await produce_foreign(servers, s.referrals_topic, compression="gzip", values=[padded(referral("ref-plain"))])
    await produce_foreign(servers, s.referrals_topic, compression="snappy",
                          values=[padded(referral(f"ref-{n}", referee=f"referee-{n}")) for n in range(3)])
    monkeypatch.setattr(codecs, "has_snappy", lambda: False)  # as on a host installed without the codec extras
    caplog.set_level(logging.INFO, logger="api.messaging.batches")

    await inbound.broker.start()

    await eventually(inbound.batches.check, f"cannot read {s.referrals_topic}[0] at offset 1: "
                                            "UnsupportedCodecError: Libraries for snappy compression codec not found")
    assert inbound.unreadable_reads(s.referrals_topic) >= 1
    assert any(f"cannot read {s.referrals_topic}[0] at offset 1" in r.getMessage() for r in caplog.records)
    assert await asyncio.to_thread(available, inbound.ledger, "ana") == 50  # the first batch only
    assert await read_topic(servers, f"{s.referrals_topic}.dlq", 0, quiet=0.5) == []

    monkeypatch.undo()  # the codec is back: the stuck batch is read where it stopped, nothing skipped
    await eventually(lambda: available(inbound.ledger, "ana"), 200, within=40)
    await eventually(inbound.batches.check, "ok")
    assert any(f"{s.referrals_topic}[0] reads again from offset 1" in r.getMessage() for r in caplog.records)


async def test_a_partition_that_reads_is_not_blamed_for_another_that_cannot(
    pg_env: dict[str, str], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = messaging_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.payments_topic, settings.referrals_topic, partitions=2)
    await produce_foreign(kafka_bootstrap, settings.payments_topic, compression="lz4", partition=0,
                          values=[padded(purchase(f"pay-{n}", user="lz")) for n in range(3)])
    await produce_foreign(kafka_bootstrap, settings.payments_topic, compression="zstd", partition=1,
                          values=[padded(purchase(f"pay-z{n}", user="zs")) for n in range(3)])
    monkeypatch.setattr(codecs, "has_zstd", lambda: False)
    ledger = Ledger(pg_env)
    running = Running(ledger, settings)
    await running.broker.start()
    try:
        await eventually(lambda: available(ledger, "lz"), 300)
        await eventually(lambda: running.batches.check().startswith(f"cannot read {settings.payments_topic}["), True)
        stuck: dict[Any, Any] = running.batches.stuck
        assert [(tp.topic, tp.partition, s.offset) for tp, s in stuck.items()] == [(settings.payments_topic, 1, 0)]
        assert "zstd" in running.batches.check()
        assert await asyncio.to_thread(available, ledger, "zs") == 0
    finally:
        await running.broker.stop()
        ledger.close()
