"""Image model adapters against the providers' documented request and response shapes."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
import respx
from huggingface_hub.utils._http import default_client_factory, set_client_factory
from PIL import Image

from media.errors import (
    ContentRefused,
    InvalidInput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from media.models.huggingface import HuggingFaceModel
from media.models.local import LocalModel, draw
from media.models.openai import OpenAIModel
from media.models.replicate import ReplicateModel
from media.models.router import ModelRouter
from media.models.stability import StabilityModel
from media.ports import ImageRequest
from tests.support.models import ask, png, replicate_transport

pytestmark = pytest.mark.unit


async def test_the_local_model_hands_over_a_picture_of_the_aspect_ratio_the_same_for_the_same_seed() -> None:
    model = LocalModel(scale=0.25)
    request = ask("teaser-thumbnail", title="Learn SQL in 10 minutes")
    first, second = await model.generate(request), await model.generate(request)
    assert first.picture.size == (480, 270) and first.data == b""  # never encoded only to be decoded again
    assert first.picture.tobytes() == second.picture.tobytes() and first.seed == 1234 and first.provider == "local"
    other = await model.generate(ImageRequest(**{**request.__dict__, "seed": 99}))
    assert other.picture.tobytes() != first.picture.tobytes()
    with Image.open(io.BytesIO(draw(request, 0.25))) as image:  # the PNG the previews and samples draw
        assert image.format == "PNG" and image.tobytes() == first.picture.tobytes()


@respx.mock
async def test_openai_generations_posts_the_documented_body_and_decodes_b64_json() -> None:
    route = respx.post("https://api.openai.com/v1/images/generations").respond(
        200, json={"created": 1, "data": [{"b64_json": base64.b64encode(png()).decode()}]})
    result = await OpenAIModel("sk-test").generate(ask("social-story", offer="50% off"))
    sent = json.loads(route.calls.last.request.content)
    assert route.calls.last.request.headers["Authorization"] == "Bearer sk-test"
    assert sent["model"] == "gpt-image-1" and sent["size"] == "1024x1536" and sent["n"] == 1
    assert "50% off" in sent["prompt"]
    assert result.data == png() and result.provider == "openai" and result.model == "gpt-image-1"


@respx.mock
async def test_openai_edits_upload_the_input_image_as_multipart() -> None:
    route = respx.post("https://api.openai.com/v1/images/edits").respond(
        200, json={"data": [{"b64_json": base64.b64encode(png()).decode()}]})
    await OpenAIModel("sk-test").generate(ask("profile-avatar", input_image="https://cdn.example/me.png",
                                              input_data=png("blue"), expression="smiling"))
    body = route.calls.last.request.content
    assert b'name="image"; filename="input.png"' in body and png("blue") in body


@pytest.mark.parametrize(("status", "body", "error"), [
    (429, {"error": {"message": "Rate limit reached", "type": "requests"}}, RateLimited),
    (500, {"error": {"message": "server error"}}, ProviderUnavailable),
    (400, {"error": {"code": "content_policy_violation", "message": "rejected"}}, ContentRefused),
    (400, {"error": {"code": "moderation_blocked", "message": "blocked by safety system"}}, ContentRefused),
    (400, {"error": {"code": "invalid_size", "message": "bad size"}}, InvalidInput),
])
@respx.mock
async def test_openai_errors_map_to_retryable_or_final_failures(status: int, body: dict[str, Any],
                                                                error: type[Exception]) -> None:
    respx.post("https://api.openai.com/v1/images/generations").respond(status, json=body)
    with pytest.raises(error):
        await OpenAIModel("sk-test").generate(ask())


@respx.mock
async def test_stability_posts_multipart_and_reads_image_bytes_and_seed() -> None:
    route = respx.post("https://api.stability.ai/v2beta/stable-image/generate/sd3").respond(
        200, content=png(), headers={"content-type": "image/png", "finish-reason": "SUCCESS", "seed": "1234"})
    result = await StabilityModel("sk-st").generate(ask("poster-motivational", quote="Keep going"))
    request = route.calls.last.request
    assert request.headers["Accept"] == "image/*" and request.headers["Authorization"] == "Bearer sk-st"
    assert request.headers["content-type"].startswith("multipart/form-data")
    for field, value in (("model", b"sd3.5-large"), ("aspect_ratio", b"2:3"), ("seed", b"1234"),
                         ("output_format", b"png")):
        assert f'name="{field}"'.encode() + b"\r\n\r\n" + value in request.content
    assert result.data == png() and result.seed == 1234


@respx.mock
async def test_stability_content_filter_and_moderation_are_refusals() -> None:
    url = "https://api.stability.ai/v2beta/stable-image/generate/sd3"
    respx.post(url).respond(200, content=png(), headers={"finish-reason": "CONTENT_FILTERED", "seed": "1"})
    with pytest.raises(ContentRefused):
        await StabilityModel("k").generate(ask("poster-motivational", quote="q"))
    respx.post(url).respond(403, json={"id": "x", "name": "content_moderation", "errors": ["flagged"]})
    with pytest.raises(ContentRefused):
        await StabilityModel("k").generate(ask("poster-motivational", quote="q"))


async def test_replicate_runs_the_template_model_through_its_client_and_reads_the_file() -> None:
    seen: list[httpx.Request] = []
    model = ReplicateModel("r8-token", transport=replicate_transport(seen=seen))
    model.client.poll_interval = 0
    result = await model.generate(ask("social-announcement", headline="Hello"))
    create = seen[0]
    assert create.url.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert create.headers["Authorization"] == "Bearer r8-token" and create.headers["Prefer"].startswith("wait")
    body = json.loads(create.content)["input"]
    assert body["aspect_ratio"] == "1:1" and body["seed"] == 1234 and "Hello" in body["prompt"]
    assert result.data == png("green") and result.model == "black-forest-labs/flux-schnell"


async def test_replicate_edits_the_learners_photo_for_a_profile_template() -> None:
    seen: list[httpx.Request] = []
    model = ReplicateModel("t", transport=replicate_transport(seen=seen))
    model.client.poll_interval = 0
    await model.generate(ask("profile-professional", input_image="https://cdn.example/me.jpg", input_data=png("blue"),
                             name="Asha"))
    body = json.loads(seen[0].content)["input"]
    assert seen[0].url.path == "/v1/models/black-forest-labs/flux-kontext-pro/predictions"
    assert body["input_image"] == "data:image/png;base64," + base64.b64encode(png("blue")).decode()
    assert body["aspect_ratio"] == "match_input_image"


async def test_replicate_failures_map_to_refusals_rate_limits_and_provider_errors() -> None:
    refused = ReplicateModel("t", transport=replicate_transport("failed", error="NSFW content detected"))
    refused.client.poll_interval = 0
    with pytest.raises(ContentRefused):
        await refused.generate(ask())
    limited = ReplicateModel("t", transport=replicate_transport(http_status=429))
    with pytest.raises(RateLimited):
        await limited.generate(ask())
    broken = ReplicateModel("t", transport=replicate_transport(http_status=503))
    with pytest.raises(ProviderUnavailable):
        await broken.generate(ask())


async def test_the_router_sends_each_template_to_its_provider() -> None:
    local = LocalModel(scale=0.1)
    router = ModelRouter({"local": local})
    assert (await router.generate(ask("teaser-banner", event="E", date="D"))).provider == "local"
    with pytest.raises(Exception, match="not enabled"):
        await router.generate(ask())


def hugging_face(status: int = 200, body: bytes | dict[str, Any] = b"", seen: list[httpx2.Request] | None = None,
                 fail: Exception | None = None) -> Iterator[None]:
    """huggingface_hub's shared session answered by a mock: the model lookup, then the inference call."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        if request.method == "GET":
            return httpx2.Response(200, json={"id": "m", "pipeline_tag": "text-to-image", "tags": []})
        if fail is not None:
            raise fail
        if isinstance(body, dict):
            return httpx2.Response(status, json=body)
        return httpx2.Response(status, content=body or png("purple"), headers={"content-type": "image/png"})

    set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(handle)))
    yield
    set_client_factory(default_client_factory)


@pytest.fixture
def hf_seen() -> Iterator[list[httpx2.Request]]:
    seen: list[httpx2.Request] = []
    yield from (seen for _ in hugging_face(seen=seen))


async def test_hugging_face_posts_the_prompt_negative_prompt_size_and_seed_and_reads_the_image(
        hf_seen: list[httpx2.Request]) -> None:
    request = ask("social-announcement", headline="Hello")
    result = await HuggingFaceModel("hf_test", model="black-forest-labs/FLUX.1-schnell").generate(request)
    post = hf_seen[-1]
    body = json.loads(post.content)
    assert post.url == "https://router.huggingface.co/hf-inference/models/black-forest-labs/FLUX.1-schnell"
    assert post.headers["Authorization"] == "Bearer hf_test"
    assert "Hello" in body["inputs"] and "no text" in body["inputs"]
    assert "text, letters, watermark" in body["parameters"]["negative_prompt"]
    assert body["parameters"]["width"] == 1024 and body["parameters"]["height"] == 1024
    assert body["parameters"]["seed"] == 1234
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.format == "PNG" and image.getpixel((0, 0)) == (128, 0, 128)
    assert result.provider == "huggingface" and result.model == "black-forest-labs/FLUX.1-schnell"


@pytest.mark.parametrize(("status", "body", "error", "retryable"), [
    (429, {"error": "Rate limit reached"}, RateLimited, True),
    (503, {"error": "Model is currently loading", "estimated_time": 20}, ProviderUnavailable, True),
    (500, {"error": "internal"}, ProviderUnavailable, True),
    (400, {"error": "NSFW content detected by the safety checker"}, ContentRefused, False),
    (422, {"error": "height must be a multiple of 8"}, InvalidInput, False),
    (401, {"error": "Invalid credentials in Authorization header"}, ProviderError, False),
])
async def test_hugging_face_errors_map_to_retryable_or_final_failures(status: int, body: dict[str, Any],
                                                                      error: type[ProviderError],
                                                                      retryable: bool) -> None:
    for _ in hugging_face(status, body):
        with pytest.raises(error) as caught:
            await HuggingFaceModel("hf_test").generate(ask())
        assert caught.value.retryable is retryable


async def test_hugging_face_timeouts_and_lost_connections_are_retryable() -> None:
    for failure, error in ((httpx2.ReadTimeout("slow"), ProviderTimeout),
                           (httpx2.ConnectError("refused"), ProviderUnavailable)):
        for _ in hugging_face(fail=failure):
            with pytest.raises(error) as caught:
                await HuggingFaceModel("hf_test").generate(ask())
            assert caught.value.retryable


async def test_hugging_face_output_that_is_not_an_image_is_a_final_failure() -> None:
    for _ in hugging_face(body=b"<html>oops</html>"):
        with pytest.raises(InvalidInput):
            await HuggingFaceModel("hf_test").generate(ask())


async def test_hugging_face_uses_each_templates_own_model_for_it_and_refuses_photo_edits(
        hf_seen: list[httpx2.Request]) -> None:
    await HuggingFaceModel("hf_test").generate(ask("poster-motivational", quote="Keep going"))
    assert hf_seen[-1].url.path == "/hf-inference/models/stabilityai/stable-diffusion-3.5-large"
    with pytest.raises(InvalidInput, match="cannot edit the learner's photo"):
        await HuggingFaceModel("hf_test").generate(ask("profile-avatar", input_image="https://cdn.example/me.png",
                                                       expression="smiling"))
