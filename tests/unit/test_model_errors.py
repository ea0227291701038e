"""Each provider's own failures become the pipeline's retryable or final errors (a final one releases the hold)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import respx

from media.errors import ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited
from media.models.openai import OpenAIModel
from media.models.replicate import ReplicateModel
from media.models.stability import StabilityModel
from media.ports import ImageResult
from tests.support.models import ask

pytestmark = pytest.mark.unit
OPENAI = "https://api.openai.com/v1/images/generations"
STABILITY = "https://api.stability.ai/v2beta/stable-image/generate/sd3"


def openai() -> Awaitable[ImageResult]:
    return OpenAIModel("sk").generate(ask())


def stability() -> Awaitable[ImageResult]:
    return StabilityModel("sk").generate(ask("poster-motivational", quote="q"))


@pytest.mark.parametrize(("url", "call"), [(OPENAI, openai), (STABILITY, stability)])
@pytest.mark.parametrize(("failure", "error", "retryable"), [
    (httpx.ReadTimeout("slow"), ProviderTimeout, True),
    (httpx.ConnectError("refused"), ProviderUnavailable, True),
    (httpx.Response(429, json={"errors": ["slow down"]}), RateLimited, True),
    (httpx.Response(502, text="bad gateway"), ProviderUnavailable, True),
    (httpx.Response(401, json={"errors": ["bad key"]}), ProviderError, False),
])
@respx.mock
async def test_http_providers_say_whether_a_failure_is_worth_retrying(
        url: str, call: Callable[[], Awaitable[ImageResult]], failure: Exception | httpx.Response,
        error: type[ProviderError], retryable: bool) -> None:
    route = respx.post(url)
    if isinstance(failure, httpx.Response):
        route.mock(return_value=failure)
    else:
        route.mock(side_effect=failure)
    with pytest.raises(error) as caught:
        await call()
    assert caught.value.retryable is retryable


@pytest.mark.parametrize(("failure", "error", "retryable"), [
    (httpx.ReadTimeout("slow"), ProviderTimeout, True),
    (httpx.ConnectError("refused"), ProviderUnavailable, True),
])
async def test_replicate_transport_failures_are_retryable(failure: Exception, error: type[ProviderError],
                                                         retryable: bool) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise failure

    model = ReplicateModel("t", transport=httpx.MockTransport(handle))
    with pytest.raises(error) as caught:
        await model.generate(ask())
    assert caught.value.retryable is retryable


async def test_a_failed_replicate_prediction_that_is_no_refusal_is_final() -> None:
    from tests.support.models import replicate_transport

    model = ReplicateModel("t", transport=replicate_transport("failed", error="CUDA out of memory"))
    model.client.poll_interval = 0
    with pytest.raises(ProviderError) as caught:
        await model.generate(ask())
    assert not caught.value.retryable and caught.value.reason == "provider_error"
