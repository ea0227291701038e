"""The ledger's result consumer on an in-memory broker: capture, release, repeats and the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker

from api.messaging.broker import raw_body
from api.messaging.results import add_result_consumer
from ledger import Ledger, Money
from media.messages import GenerationCompletedMessage, GenerationFailedMessage
from service.settings.media import MediaSettings
from tests.conftest import T0

pytestmark = pytest.mark.unit
AT = T0 + timedelta(minutes=1)


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger.purchase(user_id="ana", payment_id="p1", pack_id="starter", amount=10, price=Money(1000, "INR"), at=T0)
    yield ledger
    ledger.close()


def request(ledger: Ledger, key: str) -> UUID:
    outcome = ledger.request_generation(user_id="ana", request_key=key, template_id="teaser-banner",
                                        template_version=1, variables={}, input_image=None, cost=3, at=T0)
    return UUID(str(outcome.value))


def wire(ledger: Ledger) -> tuple[KafkaBroker, list[dict[str, Any]]]:
    broker = KafkaBroker()
    add_result_consumer(broker, ledger, MediaSettings(), clock=lambda: AT)
    parked: list[dict[str, Any]] = []

    for topic in ("generation.completed.dlq", "generation.failed.dlq"):
        @broker.subscriber(topic, decoder=raw_body)
        async def on_dlq(body: bytes, message: KafkaMessage) -> None:
            parked.append(dict(message.headers))

    return broker, parked


def completed(gen: UUID) -> bytes:
    return GenerationCompletedMessage(
        generation_id=gen, request_event_id=uuid4(), image_url="/media/gallery/x.png", storage_id=str(gen),
        provider="local", model="pillow", seed=7, timings={"model": 0.05}, finished_at=AT,
    ).model_dump_json().encode()


def failed(gen: UUID) -> bytes:
    return GenerationFailedMessage(generation_id=gen, request_event_id=uuid4(), reason="content_policy",
                                   retryable=False, finished_at=AT).model_dump_json().encode()


async def test_a_completed_result_captures_the_cost_once_even_when_delivered_twice(app: Ledger) -> None:
    gen = request(app, "k1")
    broker, parked = wire(app)
    async with TestKafkaBroker(broker) as br:
        await br.publish(completed(gen), "generation.completed")
        await br.publish(completed(gen), "generation.completed")
    wallet = app.wallet("ana")
    assert wallet is not None and wallet.consumed == 3 and wallet.available(AT) == 7
    assert getattr(app.generation(gen), "status", None) == "completed" and parked == []


async def test_a_failed_result_releases_the_hold(app: Ledger) -> None:
    gen = request(app, "k2")
    broker, _ = wire(app)
    async with TestKafkaBroker(broker) as br:
        await br.publish(failed(gen), "generation.failed")
        await br.publish(failed(gen), "generation.failed")
    wallet = app.wallet("ana")
    assert wallet is not None and wallet.consumed == 0 and wallet.available(AT) == 10
    generation = app.generation(gen)
    assert generation is not None and (generation.status, generation.reason) == ("failed", "content_policy")


async def test_a_contradicting_result_is_ignored_and_the_first_one_stands(app: Ledger) -> None:
    gen = request(app, "k3")
    broker, parked = wire(app)
    async with TestKafkaBroker(broker) as br:
        await br.publish(failed(gen), "generation.failed")
        await br.publish(completed(gen), "generation.completed")
    assert getattr(app.generation(gen), "status", None) == "failed" and parked == []


async def test_bad_messages_and_unknown_generations_go_to_the_dlq(app: Ledger) -> None:
    broker, parked = wire(app)
    async with TestKafkaBroker(broker) as br:
        await br.publish(b"{not json", "generation.completed")
        await br.publish(json.dumps({"generation_id": "nope"}).encode(), "generation.failed")
        await br.publish(completed(uuid4()), "generation.completed")
    assert len(parked) == 3
    assert any(h["x-error"] == "GenerationNotFound" for h in parked)
    assert all({"x-original-topic", "x-original-partition", "x-original-offset"} <= set(h) for h in parked)
