"""The relay process killed mid-stream and started again: no event missing on the topic, and
duplicates only of events published after the last position the killed relay had recorded."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest

from api.messaging.envelope import is_published
from ledger import Ledger
from ledger.event_store.tracking import positions_for
from tests.support.kafka_broker import create_topics, read_topic, stop_process, unique_name
from tests.support.relay import stored_events, write_some_events

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
PAGE = 10
UNACKNOWLEDGED = PAGE * (4 + 1)  # the pages in flight (Relay.window) and the one being sent


def relay_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`studio-ledger relay` in its own session."""
    return subprocess.Popen([sys.executable, "-m", "api.cli", "relay"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def relay_env(pg_env: dict[str, str], kafka_bootstrap: str, topic: str, name: str) -> dict[str, str]:
    """The relay's STUDIO_* settings for the test's schema, topic and tracking name."""
    return {**os.environ, "STUDIO_STORE": "postgres", "STUDIO_GROUP_COMMIT": "false",
           "STUDIO_POSTGRES_HOST": pg_env["POSTGRES_HOST"], "STUDIO_POSTGRES_PORT": pg_env["POSTGRES_PORT"],
           "STUDIO_POSTGRES_USER": pg_env["POSTGRES_USER"], "STUDIO_POSTGRES_PASSWORD": pg_env["POSTGRES_PASSWORD"],
           "STUDIO_POSTGRES_DB": pg_env["POSTGRES_DBNAME"], "STUDIO_POSTGRES_SCHEMA": pg_env["POSTGRES_SCHEMA"],
           "STUDIO_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "STUDIO_EVENTS_TOPIC": topic,
           "STUDIO_GENERATION_REQUESTED_TOPIC": unique_name("generation.requested"),
           "STUDIO_PAYMENTS_REQUESTS_TOPIC": unique_name("payments.requests"),
           "STUDIO_ALERTS_TOPIC": unique_name("wallet.alerts"),
           "STUDIO_RELAY_NAME": name, "STUDIO_RELAY_PAGE_SIZE": str(PAGE)}


async def test_a_relay_killed_mid_stream_and_restarted_loses_nothing(pg_env: dict[str, str],
                                                                     kafka_bootstrap: str) -> None:
    topic, name = unique_name("ledger.events"), unique_name("relay")
    env = relay_env(pg_env, kafka_bootstrap, topic, name)
    await create_topics(kafka_bootstrap, topic, env["STUDIO_GENERATION_REQUESTED_TOPIC"],
                        env["STUDIO_PAYMENTS_REQUESTS_TOPIC"], env["STUDIO_ALERTS_TOPIC"])
    ledger = Ledger(pg_env)
    writer = threading.Thread(target=write_some_events, args=(ledger, 120))
    writer.start()
    first = relay_process(env)
    try:
        await read_topic(kafka_bootstrap, topic, 100, within=60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = positions_for(ledger.recorder).get(name)
        second = relay_process(env)
        try:
            await asyncio.to_thread(writer.join)
            expected = {s.position for s in stored_events(ledger) if is_published(s)}
            records = await read_topic(kafka_bootstrap, topic, len(expected), within=60, quiet=1.0)
        finally:
            stop_process(second)
    finally:
        stop_process(first)
        writer.join()
        ledger.close()

    envelopes = [json.loads(r.value) for r in records]
    positions = Counter(e["position"] for e in envelopes)
    assert set(positions) == expected  # nothing missing, nothing that was not committed
    assert killed_at < max(expected)  # the first relay was killed before the stream ended
    duplicated = sorted(p for p, n in positions.items() if n > 1)
    assert all(killed_at < p <= killed_at + UNACKNOWLEDGED for p in duplicated), (killed_at, duplicated)
    first_seen: dict[str, list[int]] = {}
    seen: set[int] = set()
    for e in envelopes:
        if e["position"] not in seen:
            seen.add(e["position"])
            first_seen.setdefault(e["aggregate_id"], []).append(e["position"])
    assert all(p == sorted(p) for p in first_seen.values())


async def test_a_terminated_relay_finishes_its_pages_records_its_position_and_exits_cleanly(
    pg_env: dict[str, str], kafka_bootstrap: str,
) -> None:
    topic, name = unique_name("ledger.events"), unique_name("relay")
    ledger = Ledger(pg_env)
    try:
        await asyncio.to_thread(write_some_events, ledger, 3)
        expected = [s for s in stored_events(ledger) if is_published(s)]
        env = relay_env(pg_env, kafka_bootstrap, topic, name)
        await create_topics(kafka_bootstrap, topic, env["STUDIO_GENERATION_REQUESTED_TOPIC"],
                        env["STUDIO_PAYMENTS_REQUESTS_TOPIC"], env["STUDIO_ALERTS_TOPIC"])
        process = relay_process(env)
        try:
            await read_topic(kafka_bootstrap, topic, len(expected), within=60)
            os.kill(process.pid, signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            stop_process(process)
        assert positions_for(ledger.recorder).get(name) == ledger.recorder.max_notification_id()
    finally:
        ledger.close()
