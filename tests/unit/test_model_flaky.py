"""The failure knob: a wrapper model failing or hanging on a fraction of calls, chosen by worker settings."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from media.errors import ProviderUnavailable
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.messages import GenerationFailedMessage, GenerationRequestedMessage
from media.models.flaky import FlakyModel
from media.models.local import LocalModel
from media.ports import ImageRequest, ImageResult
from media.templates import load_catalog
from service.bootstrap import build_image_model
from service.settings.media import MediaSettings
from tests.support.worker import requested

pytestmark = pytest.mark.unit


class Counting:
    """A model that answers at once and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = False

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.calls += 1
        return ImageResult(data=b"png", content_type="image/png", provider="count", model="count", seed=1)

    async def aclose(self) -> None:
        self.closed = True


def ask() -> ImageRequest:
    template = load_catalog().get("teaser-banner")
    return ImageRequest(generation_id=str(uuid4()), prompt=template.render({"event": "Demo", "date": "May 3"}),
                        model=template.model, aspect_ratio=template.aspect_ratio, seed=1)


async def test_with_no_failures_every_call_reaches_the_wrapped_model() -> None:
    inner = Counting()
    model = FlakyModel(inner)
    results = [await model.generate(ask()) for _ in range(20)]
    assert inner.calls == 20 and {r.provider for r in results} == {"count"}
    await model.aclose()
    assert inner.closed


async def test_a_failing_call_raises_a_retryable_provider_error_and_never_reaches_the_model() -> None:
    inner = Counting()
    with pytest.raises(ProviderUnavailable, match="simulated provider failure") as raised:
        await FlakyModel(inner, failure_rate=1.0).generate(ask())
    assert raised.value.retryable and inner.calls == 0


async def test_a_hanging_call_never_answers_until_the_caller_gives_up() -> None:
    inner = Counting()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(FlakyModel(inner, timeout_rate=1.0).generate(ask()), 0.2)
    assert inner.calls == 0


async def test_the_rates_are_the_fractions_of_calls_that_fail_and_hang() -> None:
    model = FlakyModel(Counting(), failure_rate=0.2, timeout_rate=0.1, rng=random.Random(7))
    one = ask()
    for _ in range(2000):
        with contextlib.suppress(ProviderUnavailable, TimeoutError):
            await asyncio.wait_for(model.generate(one), 0.001)
    assert 0.17 < model.failed / 2000 < 0.23
    assert 0.07 < model.hung / 2000 < 0.13


def test_rates_that_cannot_be_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="add up to at most 1"):
        FlakyModel(Counting(), failure_rate=0.7, timeout_rate=0.5)
    with pytest.raises(ValidationError, match="STUDIO_MODEL_FAILURE_RATE and STUDIO_MODEL_TIMEOUT_RATE"):
        MediaSettings(model_failure_rate=0.7, model_timeout_rate=0.5)
    with pytest.raises(ValidationError, match="model_failure_rate"):
        MediaSettings(model_failure_rate=-0.1)


def test_the_worker_settings_wrap_the_configured_model_only_when_a_rate_is_set() -> None:
    assert isinstance(build_image_model(MediaSettings()), LocalModel)
    wrapped = build_image_model(MediaSettings(model_failure_rate=0.1, model_timeout_rate=0.05))
    assert isinstance(wrapped, FlakyModel) and isinstance(wrapped.inner, LocalModel)
    assert (wrapped.failure_rate, wrapped.timeout_rate) == (0.1, 0.05)


def request_message() -> GenerationRequestedMessage:
    return GenerationRequestedMessage.model_validate(requested())


async def test_a_worker_whose_model_always_fails_reports_the_generation_failed_after_its_attempts(
        tmp_path: Path) -> None:
    inner = Counting()
    handler = GenerationHandler(load_catalog(), FlakyModel(inner, failure_rate=1.0), LocalStore(tmp_path),
                                RetryPolicy(attempts=3, backoff=0.0, timeout=1.0))
    result = await handler.handle(request_message())
    assert isinstance(result, GenerationFailedMessage)
    assert (result.reason, result.retryable) == ("provider_unavailable", True)
    assert inner.calls == 0


async def test_a_worker_whose_model_hangs_reports_a_timeout_after_its_attempts(tmp_path: Path) -> None:
    handler = GenerationHandler(load_catalog(), FlakyModel(Counting(), timeout_rate=1.0), LocalStore(tmp_path),
                                RetryPolicy(attempts=2, backoff=0.0, timeout=0.1))
    result = await handler.handle(request_message())
    assert isinstance(result, GenerationFailedMessage)
    assert result.reason == "timeout"
