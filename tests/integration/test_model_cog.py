"""The self-hosted adapter against a small Cog-compatible HTTP server started on loopback."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from PIL import Image

from media.errors import ContentRefused, InvalidInput
from media.models.cog import CogModel
from media.ports import ImageRequest
from media.templates import load_catalog

pytestmark = pytest.mark.integration

SERVER = r'''
import base64, io, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from PIL import Image

class Cog(BaseHTTPRequestHandler):
    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, {"status": "READY"} if self.path == "/health-check" else {"detail": "Not Found"})

    def do_POST(self):
        if self.path != "/predictions":
            return self._send(404, {"detail": "Not Found"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = body["input"]
        if "forbidden" in data["prompt"]:
            return self._send(200, {"id": body.get("id"), "status": "failed", "output": None,
                                    "error": "NSFW content detected in the output"})
        if "invalid" in data["prompt"]:
            return self._send(422, {"detail": [{"loc": ["body", "input", "prompt"], "msg": "bad prompt"}]})
        out = io.BytesIO()
        Image.new("RGB", (data["width"] // 16, data["height"] // 16), (data["seed"] % 256, 0, 0)).save(out, "PNG")
        self._send(200, {"id": body.get("id"), "status": "succeeded", "input": data, "error": None,
                         "output": ["data:image/png;base64," + base64.b64encode(out.getvalue()).decode()],
                         "metrics": {"predict_time": 0.01}})

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Cog).serve_forever()
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cog_url() -> Iterator[str]:
    """A Cog-like prediction server on a free loopback port, in its own session."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health-check", timeout=1) as answer:
                    if json.load(answer)["status"] == "READY":
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def ask(prompt_word: str = "castle") -> ImageRequest:
    template = load_catalog().get("teaser-trailer")
    values = {"subject": prompt_word}
    return ImageRequest(generation_id="g-cog", prompt=template.render(values), model=template.model,
                        aspect_ratio=template.aspect_ratio, seed=77, caption=template.render_caption(values))


async def test_a_cog_prediction_returns_the_decoded_image_with_timings(cog_url: str) -> None:
    model = CogModel(cog_url)
    try:
        result = await model.generate(ask())
    finally:
        await model.aclose()
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.size == (1344 // 16, 768 // 16) and image.getpixel((0, 0)) == (77, 0, 0)
    assert result.provider == "cog" and result.model == "stable-diffusion-xl"
    assert result.timings["predict"] == 0.01 and result.timings["model"] > 0


async def test_a_cog_refusal_and_a_validation_error_are_final(cog_url: str) -> None:
    model = CogModel(cog_url)
    try:
        with pytest.raises(ContentRefused):
            await model.generate(ask("forbidden thing"))
        with pytest.raises(InvalidInput, match="422"):
            await model.generate(ask("invalid thing"))
    finally:
        await model.aclose()
