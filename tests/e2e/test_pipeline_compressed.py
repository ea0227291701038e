"""The pipeline with compressed batches: each codec Kafka defines, produced by our own producers when
``STUDIO_KAFKA_COMPRESSION`` says so and by a librdkafka producer, read by the worker and the result consumer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from api.messaging.batches import UnreadableBatches
from api.messaging.broker import broker_for
from api.messaging.relay import Relay
from api.messaging.results import add_result_consumer
from ledger import Ledger
from media.messages import GenerationCompletedMessage
from service.settings.media import MediaSettings
from service.settings.messaging import MessagingSettings
from tests.support.kafka_broker import (
    KAFKA_CODECS,
    compression_of,
    create_topics,
    produce_foreign,
    read_topic,
    unique_name,
)
from tests.support.pipeline import Pipeline, finished
from tests.support.worker import requested

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture(params=KAFKA_CODECS)
async def compressing(request: pytest.FixtureRequest, pg_env: dict[str, str], kafka_bootstrap: str,
                      kafka_session_timeout_ms: int, tmp_path: Path) -> AsyncIterator[Pipeline]:
    """The relay, the result consumer and the workers of the test producing with one codec."""
    codec = request.param
    settings = MediaSettings(
        kafka_bootstrap_servers=kafka_bootstrap, data_dir=tmp_path, kafka_compression=codec,
        generation_requested_topic=unique_name("generation.requested"),
        generation_completed_topic=unique_name("generation.completed"),
        generation_failed_topic=unique_name("generation.failed"),
        worker_group=unique_name("workers"), results_group=unique_name("results"),
        consumer_session_timeout_ms=kafka_session_timeout_ms,
        consumer_rebalance_timeout_ms=kafka_session_timeout_ms + 2000)
    await create_topics(kafka_bootstrap, settings.generation_requested_topic, settings.generation_completed_topic,
                        settings.generation_failed_topic, f"{settings.generation_requested_topic}.dlq")
    ledger = Ledger(pg_env)
    relay = Relay(ledger, MessagingSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_compression=codec,
                                            events_topic=unique_name("ledger.events"),
                                            generation_requested_topic=settings.generation_requested_topic,
                                            relay_name=unique_name("relay")))
    relaying = asyncio.create_task(relay.run())
    results = broker_for(settings)
    add_result_consumer(results, ledger, settings)
    batches = UnreadableBatches(kafka_bootstrap, registry=CollectorRegistry())
    batches.watch(results)
    await results.start()
    running = Pipeline(ledger, settings, tmp_path, [results])
    yield running
    assert batches.check() == "ok"
    for broker in running.brokers:
        await broker.stop()
    relay.stop()
    await asyncio.wait_for(relaying, 10)
    ledger.close()


async def test_requests_and_results_compressed_with_each_codec_are_rendered_and_captured(
    compressing: Pipeline,
) -> None:
    s = compressing.settings
    await compressing.start_worker()
    await asyncio.to_thread(compressing.fund, "ana")
    generation = await finished(compressing.ledger, await asyncio.to_thread(compressing.request, "ana"))
    assert generation.status == "completed" and generation.captured == 3
    # Both hops really were compressed: aiokafka without the codec's decoder cannot read either topic.
    for topic in (s.generation_requested_topic, s.generation_completed_topic):
        assert await compression_of(s.kafka_bootstrap_servers, topic, s.kafka_compression) == \
            f"UnsupportedCodecError: Libraries for {s.kafka_compression} compression codec not found"


async def test_the_worker_renders_requests_a_librdkafka_producer_compressed_with_each_codec(
    kafka_bootstrap: str, kafka_session_timeout_ms: int, tmp_path: Path,
) -> None:
    settings = MediaSettings(
        kafka_bootstrap_servers=kafka_bootstrap, data_dir=tmp_path,
        generation_requested_topic=unique_name("generation.requested"),
        generation_completed_topic=unique_name("generation.completed"),
        generation_failed_topic=unique_name("generation.failed"), worker_group=unique_name("workers"),
        consumer_session_timeout_ms=kafka_session_timeout_ms,
        consumer_rebalance_timeout_ms=kafka_session_timeout_ms + 2000)
    await create_topics(kafka_bootstrap, settings.generation_requested_topic, settings.generation_completed_topic,
                        settings.generation_failed_topic, f"{settings.generation_requested_topic}.dlq")
    sent = {}
    for codec in KAFKA_CODECS:
        envelopes = [requested() for _ in range(2)]
        sent.update({e["aggregate_id"]: codec for e in envelopes})
        await produce_foreign(kafka_bootstrap, settings.generation_requested_topic, compression=codec,
                              values=[json.dumps(e).encode() for e in envelopes])
    pipeline = Pipeline(Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}), settings, tmp_path)
    worker = await pipeline.start_worker()
    try:
        done = await read_topic(kafka_bootstrap, settings.generation_completed_topic, len(sent), within=60)
    finally:
        await worker.stop()
    rendered = {str(GenerationCompletedMessage.model_validate_json(r.value).generation_id) for r in done}
    assert {sent[g] for g in rendered} == set(KAFKA_CODECS) and rendered == set(sent)
