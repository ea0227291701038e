"""Blocking work of one kind runs in its own lane: with every default worker thread taken (the threads of the
synchronous routes), the image store, photo decoding and template previews still get theirs."""

from __future__ import annotations

import io
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from PIL import Image

from api.http.previews import Previews
from ledger import Ledger, Money
from media.image_stores.local import LocalStore
from media.ports import UploadInfo
from media.templates import load_catalog
from media.threads import Lane
from service.generations import GenerationRequest, request_generation
from service.limits import Limits
from service.policy import load_policy
from service.settings.api import ApiSettings
from service.uploads import new_upload, reencode
from tests.conftest import T0

pytestmark = pytest.mark.unit


def with_the_default_threads_taken(work: Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    """``work()`` awaited while the event loop's default worker threads (one token here) are all blocked; it
    must finish within ``within`` seconds without them."""
    released = threading.Event()
    done: list[Any] = []

    async def main() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        async with anyio.create_task_group() as group:
            group.start_soon(partial(anyio.to_thread.run_sync, released.wait, abandon_on_cancel=True))
            await anyio.sleep(0.05)  # the blocker holds the only default token now
            try:
                with anyio.fail_after(within):
                    done.append(await work())
            finally:
                released.set()

    anyio.run(main)
    return done[0]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, format="PNG")
    return out.getvalue()


def test_the_image_store_and_photo_decoding_do_not_need_the_routes_threads(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)

    async def upload() -> Any:  # store_upload's steps but the read database's (a read like any route's)
        decode = Limits.of(ApiSettings()).decode
        photo = await decode.run(partial(reencode, png(), max_bytes=1_000_000, max_pixels=10_000_000))
        kept = new_upload("alice", photo, T0, timedelta(minutes=30))
        await store.put_upload(kept)
        return kept, await store.uploads("alice")

    kept, listed = with_the_default_threads_taken(upload)
    assert [u.upload_id for u in listed] == [kept.upload_id]


def test_template_previews_do_not_need_the_routes_threads() -> None:
    previews = Previews()  # its own local model, as the app builds it
    found = with_the_default_threads_taken(lambda: previews.get(load_catalog().get("poster-course-launch")))
    assert found.png.startswith(b"\x89PNG")


def test_a_lane_runs_no_more_than_its_threads_at_once() -> None:
    lane, running, most = Lane("test", 2), [0], [0]
    gate = threading.Lock()

    def work() -> None:
        with gate:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.05)
        with gate:
            running[0] -= 1

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(lane.run, work)

    anyio.run(main)
    assert most[0] == 2


def test_a_generation_request_is_recorded_in_the_commands_lane_without_the_routes_threads() -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger.purchase(user_id="alice", payment_id="pay-1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    asked = GenerationRequest(user_id="alice", key="k-1", template_id="poster-webinar",
                              variables={"topic": "Intro to SQL", "time": "Friday 6 pm"})
    try:
        requested = with_the_default_threads_taken(lambda: request_generation(
            ledger, load_catalog(), NoPhotos(), asked, policy=load_policy(), at=T0, hold_ttl=timedelta(minutes=10),
            lane=Lane("commands", 2)))
    finally:
        ledger.close()
    assert requested.cost > 0 and not requested.repeated


class NoPhotos:
    """A request without a photo never asks for one."""

    async def uploads(self, owner: str) -> Sequence[UploadInfo]:
        raise AssertionError("no upload to list")

    async def fetch(self, url: str) -> object:
        raise AssertionError("no URL to fetch")
