"""The worker on an in-memory broker: request in, result or DLQ out, and idempotent redelivery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker

from api.messaging.broker import raw_body
from api.messaging.worker import add_worker
from media.errors import ContentRefused, RateLimited
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.messages import GenerationCompletedMessage, GenerationFailedMessage
from media.templates import load_catalog
from service.settings.media import MediaSettings
from tests.support.worker import CountingModel, requested

pytestmark = pytest.mark.unit


async def no_sleep(_: float) -> None:
    pass


def wire(tmp_path: Path, model: CountingModel) -> tuple[KafkaBroker, dict[str, list[Any]]]:
    settings = MediaSettings(data_dir=tmp_path)
    handler = GenerationHandler(load_catalog(), model, LocalStore(tmp_path),
                                RetryPolicy(attempts=3, backoff=0, timeout=5), sleep=no_sleep)
    broker = KafkaBroker()
    add_worker(broker, handler, settings)
    seen: dict[str, list[Any]] = {"completed": [], "failed": [], "dlq": []}

    @broker.subscriber("generation.completed")
    async def on_completed(body: dict[str, Any]) -> None:
        seen["completed"].append(GenerationCompletedMessage.model_validate(body))

    @broker.subscriber("generation.failed")
    async def on_failed(body: dict[str, Any]) -> None:
        seen["failed"].append(GenerationFailedMessage.model_validate(body))

    @broker.subscriber("generation.requested.dlq", decoder=raw_body)
    async def on_dlq(body: bytes, message: KafkaMessage) -> None:
        seen["dlq"].append(message.headers)

    return broker, seen


async def test_a_request_becomes_a_stored_image_and_a_completed_message(tmp_path: Path) -> None:
    model = CountingModel()
    broker, seen = wire(tmp_path, model)
    envelope = requested()
    async with TestKafkaBroker(broker) as br:
        await br.publish(json.dumps(envelope).encode(), "generation.requested", key=envelope["aggregate_id"].encode())
    [done] = seen["completed"]
    assert str(done.generation_id) == envelope["aggregate_id"]
    name = done.image_url.removeprefix("/media/gallery/")
    assert envelope["aggregate_id"] not in name and len(name.removesuffix(".jpg")) == 24  # random, not the id
    assert (tmp_path / "media" / "gallery" / name).read_bytes()[:3] == b"\xff\xd8\xff"  # the JPEG, encoded once
    assert done.provider == "local" and done.timings["model"] > 0
    assert model.calls == 1


async def test_the_stored_image_is_the_models_art_at_the_native_size_with_the_text_set_on_it(tmp_path: Path) -> None:
    import io

    from PIL import Image

    broker, seen = wire(tmp_path, CountingModel())
    envelope = requested("teaser-banner", {"event": "Data Day", "date": "3 May", "style": "tech"})
    async with TestKafkaBroker(broker) as br:
        await br.publish(json.dumps(envelope).encode(), "generation.requested", key=envelope["aggregate_id"].encode())
    [done] = seen["completed"]
    stored = (tmp_path / "media" / "gallery" / done.image_url.removeprefix("/media/gallery/")).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (1920, 1080)  # the model drew at a tenth of that; the compositor set it natively
        left = image.crop((0, 200, 1000, 900)).convert("L").getextrema()
    assert left[1] - left[0] > 150  # the headline's light letters on the dark art
    assert done.timings["compose"] > 0


async def test_a_redelivered_request_republishes_the_stored_result_without_calling_the_model(tmp_path: Path) -> None:
    model = CountingModel()
    broker, seen = wire(tmp_path, model)
    envelope = json.dumps(requested()).encode()
    async with TestKafkaBroker(broker) as br:
        await br.publish(envelope, "generation.requested")
        await br.publish(envelope, "generation.requested")
    first, second = seen["completed"]
    assert first.model_dump(exclude={"finished_at", "provider_cost"}) == second.model_dump(
        exclude={"finished_at", "provider_cost"})
    assert model.calls == 1
    # The repeat made no call, and cannot know what the first one cost: unknown, never free (the ledger keeps
    # the first report's cost).
    assert first.provider_cost is not None and first.provider_cost.calls == 1
    assert second.provider_cost is None


async def test_rate_limits_are_retried_and_a_refusal_fails_the_generation(tmp_path: Path) -> None:
    model = CountingModel([RateLimited("429"), RateLimited("429"), ContentRefused("nsfw")])
    broker, seen = wire(tmp_path, model)
    async with TestKafkaBroker(broker) as br:
        await br.publish(json.dumps(requested()).encode(), "generation.requested")
    [failed] = seen["failed"]
    assert (failed.reason, failed.retryable, model.calls) == ("safety", False, 3)


async def test_exhausted_retries_fail_the_generation_as_retryable(tmp_path: Path) -> None:
    model = CountingModel([RateLimited("429")] * 3)
    broker, seen = wire(tmp_path, model)
    async with TestKafkaBroker(broker) as br:
        await br.publish(json.dumps(requested()).encode(), "generation.requested")
    [failed] = seen["failed"]
    assert (failed.reason, failed.retryable, model.calls) == ("rate_limited", True, 3)


async def test_text_no_font_can_print_fails_without_calling_the_model(tmp_path: Path) -> None:
    model = CountingModel()
    broker, seen = wire(tmp_path, model)
    async with TestKafkaBroker(broker) as br:  # accepted before the request-time check, or sent by another producer
        await br.publish(json.dumps(requested(variables={"event": "Data Day 中文", "date": "May"})).encode(),
                         "generation.requested")
    [failed] = seen["failed"]
    assert failed.reason == "invalid_input" and "中 cannot be printed on this template" in failed.detail
    assert model.calls == 0


async def test_bad_variables_fail_without_calling_the_model(tmp_path: Path) -> None:
    model = CountingModel()
    broker, seen = wire(tmp_path, model)
    async with TestKafkaBroker(broker) as br:
        await br.publish(json.dumps(requested(variables={"event": "x" * 500, "date": "May"})).encode(),
                         "generation.requested")
    [failed] = seen["failed"]
    assert failed.reason == "invalid_input" and "event" in failed.detail
    assert model.calls == 0


async def test_a_poison_message_goes_to_the_dlq_and_the_worker_goes_on(tmp_path: Path) -> None:
    model = CountingModel()
    broker, seen = wire(tmp_path, model)
    async with TestKafkaBroker(broker) as br:
        await br.publish(b"\xff not json", "generation.requested")
        await br.publish(json.dumps({"type": "GenerationRequested"}).encode(), "generation.requested")
        await br.publish(json.dumps(requested()).encode(), "generation.requested")
    assert len(seen["dlq"]) == 2
    assert all(headers["x-error"] == "ValidationError" and "x-original-offset" in headers for headers in seen["dlq"])
    assert len(seen["completed"]) == 1


async def test_an_answer_the_broker_refused_is_not_acknowledged(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from aiokafka.errors import KafkaTimeoutError
    from faststream.exceptions import NackMessage

    from api.messaging import dead_letters, worker

    parked: list[str] = []

    async def refused(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        parked.append(topic)
        raise KafkaTimeoutError()

    monkeypatch.setattr(dead_letters.asyncio, "sleep", no_sleep)
    policy = dead_letters.DeadLetters(refused, classify=worker.unprocessable, delays=worker.RETRY_DELAYS)
    record = SimpleNamespace(topic="generation.requested", partition=0, offset=7, key=None, value=b"{}")
    with pytest.raises(NackMessage):  # the answer was refused: not dead-lettered, read again
        await policy(record, context=None).after_processed(KafkaTimeoutError, KafkaTimeoutError(), None)
    assert parked == []
    with pytest.raises(NackMessage):  # nor is a request whose dead letter was refused
        await policy(record, context=None).after_processed(ValueError, ValueError("bug"), None)
    assert parked == ["generation.requested.dlq"]
