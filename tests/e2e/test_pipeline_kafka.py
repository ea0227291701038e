"""The pipeline end to end on a real broker and PostgreSQL: ledger → relay → worker → results → ledger."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, Wallet
from ledger.event_store.follow import Follower
from service.sweeper import Sweeper
from tests.support.kafka_broker import committed_offset, produce, read_topic, unique_name
from tests.support.pipeline import Pipeline, finished

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def wallet_events(ledger: Ledger, kind: type[Any]) -> list[Any]:
    return [s.event for s in Follower(ledger).read(limit=100_000) if isinstance(s.event, kind)]


async def test_a_request_is_rendered_stored_and_its_hold_captured(pipeline: Pipeline) -> None:
    await pipeline.start_worker()
    await asyncio.to_thread(pipeline.fund, "ana")
    gen = await asyncio.to_thread(pipeline.request, "ana")
    generation = await finished(pipeline.ledger, gen)
    assert generation.status == "completed" and generation.captured == 3
    assert generation.image_url.startswith("/media/gallery/") and str(gen) not in generation.image_url
    stored = pipeline.data_dir / "media" / generation.image_url.removeprefix("/media/")
    assert stored.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    wallet = await asyncio.to_thread(pipeline.ledger.wallet, "ana")
    assert wallet is not None and wallet.consumed == 3 and wallet.held == 0
    assert wallet.hold(str(gen)).status == "captured"


async def test_a_failed_generation_releases_its_credits(pipeline: Pipeline) -> None:
    await pipeline.start_worker()
    await asyncio.to_thread(pipeline.fund, "bo")
    gen = await asyncio.to_thread(pipeline.request, "bo", "k1", "retired-template")
    generation = await finished(pipeline.ledger, gen)
    assert (generation.status, generation.reason) == ("failed", "invalid_input")
    wallet = await asyncio.to_thread(pipeline.ledger.wallet, "bo")
    assert wallet is not None and wallet.hold(str(gen)).status == "released"
    assert wallet.available(datetime.now(UTC)) == 10 and wallet.consumed == 0


async def test_a_worker_killed_mid_generation_leaves_it_to_another_exactly_once(pipeline: Pipeline,
                                                                               tmp_path: Path) -> None:
    slow_log = tmp_path / "slow-worker.log"
    slow = pipeline.worker_process(slow_log, delay=30)
    try:
        deadline = time.monotonic() + 40
        while b"assigned" not in slow_log.read_bytes():  # the worker holds the partition
            assert time.monotonic() < deadline, slow_log.read_text()
            await asyncio.sleep(0.2)
        await asyncio.to_thread(pipeline.fund, "cy")
        gen = await asyncio.to_thread(pipeline.request, "cy")
        await asyncio.sleep(3)  # the slow worker has the request and is rendering
        assert (await asyncio.to_thread(pipeline.ledger.generation, gen)).status == "requested"  # type: ignore[union-attr]
    finally:
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait(timeout=10)
    # The killed worker committed nothing, so the request is still the group's to read. (The local
    # broker never expels a dead member, so the group cannot rebalance: the next worker joins a
    # fresh group that starts where the old one committed, i.e. from the beginning.)
    assert await committed_offset(pipeline.settings.kafka_bootstrap_servers, pipeline.settings.worker_group,
                                  pipeline.settings.generation_requested_topic) is None
    await pipeline.start_worker(group=unique_name("workers-after-kill"))
    generation = await finished(pipeline.ledger, gen)
    assert generation.status == "completed"
    captures = await asyncio.to_thread(wallet_events, pipeline.ledger, Wallet.HoldCaptured)
    assert [c.hold_id for c in captures] == [str(gen)]
    stored = sorted(p.name for p in (pipeline.data_dir / "media" / "gallery").iterdir())
    name = generation.image_url.removeprefix("/media/gallery/").removesuffix(".jpg")
    # one image and its thumbnail (its share preview waits for its first request), no leftovers
    assert stored == sorted([f"{gen}.json", f"{name}.jpg", f"{name}_thumb.jpg"])


async def test_an_expired_hold_fails_the_generation_and_a_later_image_changes_nothing(pipeline: Pipeline) -> None:
    await asyncio.to_thread(pipeline.fund, "di")
    gen = await asyncio.to_thread(pipeline.request, "di", "k1", "teaser-banner", timedelta(seconds=1))
    await asyncio.sleep(1.2)
    swept = await asyncio.to_thread(Sweeper(pipeline.ledger).sweep)
    assert swept.generations_failed == 1
    await pipeline.start_worker()  # the worker renders it anyway; the ledger keeps the timeout
    record = pipeline.data_dir / "media" / "gallery" / f"{gen}.json"
    deadline = time.monotonic() + 30
    while not record.exists():
        assert time.monotonic() < deadline, "the worker never stored the image"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # time for the result consumer to see the completion
    generation = await finished(pipeline.ledger, gen)
    assert (generation.status, generation.reason) == ("failed", "timeout")
    wallet = await asyncio.to_thread(pipeline.ledger.wallet, "di")
    assert wallet is not None and wallet.hold(str(gen)).status == "expired"
    assert wallet.consumed == 0 and wallet.available(datetime.now(UTC)) == 10


async def test_a_late_completion_is_charged_when_the_credits_are_there(pipeline: Pipeline) -> None:
    await pipeline.start_worker(delay=2.0)
    await asyncio.to_thread(pipeline.fund, "ed")
    gen = await asyncio.to_thread(pipeline.request, "ed", "k1", "teaser-banner", timedelta(seconds=1))
    generation = await finished(pipeline.ledger, gen)
    assert generation.status == "completed" and generation.captured == 3
    wallet = await asyncio.to_thread(pipeline.ledger.wallet, "ed")
    assert wallet is not None
    assert wallet.hold(str(gen)).status == "expired" and wallet.hold(f"{gen}:late").status == "captured"
    assert wallet.consumed == 3 and wallet.available(datetime.now(UTC)) == 7


async def test_a_poison_message_goes_to_the_dlq_and_the_worker_goes_on(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    await pipeline.start_worker()
    await produce(settings.kafka_bootstrap_servers, settings.generation_requested_topic,
                  [b"\x00 not a request", b'{"type": "GenerationRequested"}'])
    await asyncio.to_thread(pipeline.fund, "fa")
    gen = await asyncio.to_thread(pipeline.request, "fa")
    assert (await finished(pipeline.ledger, gen)).status == "completed"
    parked = await read_topic(settings.kafka_bootstrap_servers, f"{settings.generation_requested_topic}.dlq", 2)
    assert [r.value for r in parked] == [b"\x00 not a request", b'{"type": "GenerationRequested"}']
    headers = [dict(r.headers) for r in parked]
    assert all(h["x-error"] == b"ValidationError" for h in headers)
    assert all(h["x-original-topic"] == settings.generation_requested_topic.encode() for h in headers)
    assert all(h["x-original-partition"] == b"0" for h in headers)
