"""A real `serve` under a burst of uploads and photo generations: the synchronous routes keep answering,
because no request's thread waits on the event loop for something that needs another of those threads."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from api.http.auth import issue_token
from service.settings.api import EMBEDDED_JWT_SECRET, EMBEDDED_WEBHOOK_SECRET
from tests.support.embedded import running_serve
from tests.support.http import purchase, signed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
THREADS = 8  # STUDIO_THREADS: the burst is twice the pool
BOUND_S = 10.0  # a read that takes longer than this during the burst is a stalled service


def jpeg(size: tuple[int, int] = (900, 700)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, format="JPEG")
    return out.getvalue()


def bearer(user: str) -> dict[str, str]:
    token = issue_token(EMBEDDED_JWT_SECRET, user, issuer="studio-ledger", audience="studio-ledger", roles=())
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    """`studio-ledger serve` on the embedded default with STUDIO_THREADS=8 and per-learner limits high enough
    that the burst reaches the thread pool; killed (SIGKILL if it must) afterwards."""
    settings = {"STUDIO_THREADS": str(THREADS), "STUDIO_RUN_PIPELINE": "false", "STUDIO_LEARNER_UPLOADS": "100",
                "STUDIO_LEARNER_GENERATIONS": "100", "STUDIO_LEARNER_FETCHES": "100", "STUDIO_UPLOAD_QUOTA": "100",
                "PYTHONPATH": str(ROOT)}
    with running_serve(tmp_path, settings, command=[sys.executable, "-m", "api.cli", "serve"]) as (base, _):
        yield base


async def timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> tuple[int, float]:
    """The status and seconds of one request; 0 when it got no answer within the bound."""
    started = time.perf_counter()
    try:
        response = await client.request(method, url, timeout=BOUND_S, **kwargs)
    except httpx.TimeoutException:
        return 0, time.perf_counter() - started
    return response.status_code, time.perf_counter() - started


def test_a_burst_of_uploads_and_photo_generations_leaves_the_synchronous_routes_answering(serve: str) -> None:
    users = ["ana", "bo"]
    with httpx.Client(base_url=serve, timeout=BOUND_S) as client:
        uploads = {}
        for user in users:
            body, headers = signed(purchase("studio", user), secret=EMBEDDED_WEBHOOK_SECRET)
            assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
            made = client.post("/v1/uploads", files={"file": ("me.jpg", jpeg(), "image/jpeg")},
                               headers={**bearer(user), "Idempotency-Key": f"first-{user}"})
            assert made.status_code == 201, made.text
            uploads[user] = made.json()["upload_id"]

    async def burst() -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=serve, limits=limits) as client:
            writes = []
            for user in users:
                for n in range(THREADS):
                    writes.append(timed(client, "POST", "/v1/uploads", headers={**bearer(user), "Idempotency-Key":
                                        f"up-{user}-{n}"}, files={"file": ("me.jpg", jpeg(), "image/jpeg")}))
                    writes.append(timed(client, "POST", "/v1/generations", headers={
                        **bearer(user), "Idempotency-Key": f"gen-{user}-{n}"}, json={
                        "template_id": "profile-avatar", "variables": {"expression": "smiling"},
                        "input_upload_id": uploads[user]}))
            writing = [asyncio.ensure_future(w) for w in writes]
            await asyncio.sleep(0.3)  # the writes are in; now the reads a stalled pool would never answer
            reads = await asyncio.gather(*(timed(client, "GET", path, headers=bearer("ana"))
                                           for path in ("/v1/templates", "/v1/wallet", "/readyz") for _ in range(3)))
            return list(await asyncio.gather(*writing)), list(reads)

    writes, reads = asyncio.run(burst())
    assert all(status == 200 for status, _ in reads), reads
    assert max(seconds for _, seconds in reads) < BOUND_S
    assert all(status in (201, 202) for status, _ in writes), writes
