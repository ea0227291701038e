"""Every route takes a bounded body (a 413 problem past it, at once by Content-Length or as soon as a
streamed body passes it), and a route that needs a caller or a signature refuses before reading the body."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError
from starlette.types import Message

from api.http.app import create_app
from service.bootstrap import build_service
from service.container import Service
from service.settings import Settings
from service.settings.api import ApiSettings
from tests.support.http import (
    api_settings,
    bearer,
    key,
    media_settings,
    purchase,
    signed,
    store_settings,
)

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
LIMIT = 4096
UPLOAD_LIMIT = 200_000
CHUNK = 1024


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A service on SQLite without the pipeline, taking JSON bodies of 4 kB and photos of 200 kB."""
    return build_service(Settings(api=api_settings(max_body_bytes=LIMIT), store=store_settings("sqlite", tmp_path),
                                  media=media_settings(tmp_path, upload_max_bytes=UPLOAD_LIMIT)),
                         with_pipeline=False)


@pytest.fixture
def app(service: Service) -> FastAPI:
    """The app, not started: the edge answers before any route runs."""
    return create_app(service, manage=False)


class Sent:
    """What a request sent through the app read of its body, and what it answered."""

    def __init__(self) -> None:
        self.chunks_read = 0
        self.status = 0
        self.body = b""
        self.headers: dict[str, str] = {}

    def json(self) -> Any:
        return json.loads(self.body)


async def send(app: FastAPI, path: str, *, chunks: int, headers: dict[str, str],
               content_length: bool = True) -> Sent:
    """POST ``chunks`` kB to ``path`` as a server would hand it over, counting the chunks the app read."""
    sent = Sent()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(chunks * CHUNK).encode()) if content_length
               else (b"transfer-encoding", b"chunked"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {}}

    async def receive() -> Message:
        if sent.chunks_read >= chunks:
            return {"type": "http.disconnect"}
        sent.chunks_read += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": sent.chunks_read < chunks}

    async def respond(message: Message) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    await app(scope, receive, respond)
    return sent


def refused_too_large(sent: Sent, limit: int) -> bool:
    problem = sent.json()
    return (sent.status == 413 and sent.headers["content-type"] == "application/problem+json"
            and problem["type"].endswith(":body-too-large") and problem["limit"] == limit)


@pytest.mark.parametrize("path", ["/v1/generations", "/v1/webhooks/payments", "/v1/dev/token", "/v1/uploads"])
async def test_a_body_whose_content_length_is_over_the_limit_is_a_413_before_a_byte_is_read(app: FastAPI,
                                                                                          path: str) -> None:
    limit = UPLOAD_LIMIT + LIMIT if path == "/v1/uploads" else LIMIT
    sent = await send(app, path, chunks=limit // CHUNK + 1, headers={**ALICE, **key()})
    assert refused_too_large(sent, limit) and sent.chunks_read == 0, (sent.status, sent.body)


async def test_a_streamed_body_is_refused_with_a_413_as_soon_as_it_passes_the_limit(app: FastAPI) -> None:
    sent = await send(app, "/v1/generations", chunks=1000, headers={**ALICE, **key(),
                      "Content-Type": "application/json"}, content_length=False)
    assert refused_too_large(sent, LIMIT) and sent.chunks_read == LIMIT // CHUNK + 1


async def test_a_streamed_body_to_a_route_that_reads_it_itself_is_refused_the_same_way(app: FastAPI) -> None:
    _, headers = signed(purchase())
    sent = await send(app, "/v1/webhooks/payments", chunks=1000, headers=headers, content_length=False)
    assert refused_too_large(sent, LIMIT) and sent.chunks_read == LIMIT // CHUNK + 1


@pytest.mark.parametrize("path", ["/v1/generations", "/v1/uploads", "/v1/dev/purchase"])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YWxpY2U6eA=="])
@pytest.mark.parametrize("content_length", [True, False], ids=["sized", "chunked"])
async def test_a_route_that_needs_a_caller_refuses_a_missing_or_bad_token_before_reading_the_body(
        app: FastAPI, path: str, authorization: str | None, content_length: bool) -> None:
    kind = "multipart/form-data; boundary=b" if path == "/v1/uploads" else "application/json"
    headers = {**key(), "Content-Type": kind, **({"Authorization": authorization} if authorization else {})}
    sent = await send(app, path, chunks=3, headers=headers, content_length=content_length)
    assert sent.status == 401 and sent.json()["type"].endswith(":unauthorized") and sent.chunks_read == 0
    assert sent.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("signature", [None, "garbage", "t=1,v1=" + "0" * 64])
async def test_the_webhook_refuses_a_missing_malformed_or_stale_signature_before_reading_the_body(
        app: FastAPI, signature: str | None) -> None:
    headers = {**key(), **({"Studio-Signature": signature} if signature else {})}
    sent = await send(app, "/v1/webhooks/payments", chunks=3, headers=headers, content_length=False)
    assert sent.status == 401 and sent.json()["type"].endswith(":invalid-signature") and sent.chunks_read == 0


def noise() -> bytes:
    """A PNG photo of 100 x 100 random pixels: about 30 kB, over the JSON limit and within the upload limit."""
    pixels = random.Random(7).randbytes(100 * 100 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (100, 100), pixels).save(out, format="PNG")
    return out.getvalue()


def test_bodies_within_the_limits_are_served_as_before(client: TestClient) -> None:
    body, headers = signed(purchase())
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    large = noise()
    assert LIMIT < len(large) < UPLOAD_LIMIT
    upload = client.post("/v1/uploads", files={"file": ("me.png", large, "image/png")}, headers={**ALICE, **key()})
    assert upload.status_code == 201, upload.text
    poster = json.dumps({"template_id": "poster-course-launch", "variables": {"course": "SQL", "date": "1 March"}})
    padded = poster + " " * (LIMIT - len(poster))  # JSON may end in whitespace: exactly the limit
    generation = client.post("/v1/generations", content=padded, headers={
        **ALICE, **key(), "Content-Type": "application/json"})
    assert generation.status_code == 202, generation.text


def test_a_body_over_the_limit_through_a_whole_client_is_a_413_problem(client: TestClient) -> None:
    response = client.post("/v1/generations", content=b"{" + b" " * LIMIT + b"}",
                           headers={**ALICE, **key(), "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["type"].endswith(":body-too-large")


@pytest.mark.parametrize("value", [0, 1023, 16 * 1024 * 1024 + 1])
def test_a_body_limit_out_of_bounds_is_refused_at_start_up(value: int) -> None:
    with pytest.raises(ValidationError, match="max_body_bytes"):
        ApiSettings(max_body_bytes=value)
