"""The relay on PostgreSQL and a real broker: every committed wallet and generation event on Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from aiokafka.partitioner import DefaultPartitioner

from api.messaging.envelope import is_published
from api.messaging.relay import Relay
from ledger import Ledger, Money
from ledger.event_ids import event_id
from ledger.event_store.tracking import positions_for
from tests.conftest import PG, T0
from tests.support.kafka_broker import create_topics, read_topic
from tests.support.relay import relay_settings, stored_events, write_some_events

pytestmark = pytest.mark.integration


@pytest.fixture
async def running(pg_env: dict[str, str], kafka_bootstrap: str) -> AsyncIterator[tuple[Ledger, Relay]]:
    """A PostgreSQL ledger and a relay publishing it, running until the test ends."""
    ledger = Ledger(pg_env)
    relay = Relay(ledger, relay_settings(kafka_bootstrap))
    task = asyncio.create_task(relay.run())
    yield ledger, relay
    relay.stop()
    await asyncio.wait_for(task, 10)
    ledger.close()


async def test_every_wallet_and_generation_event_reaches_ledger_events_once_in_order(
    running: tuple[Ledger, Relay], kafka_bootstrap: str,
) -> None:
    ledger, relay = running
    await asyncio.to_thread(write_some_events, ledger, 6)
    expected = [s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)]

    records = await read_topic(kafka_bootstrap, relay.settings.events_topic, len(expected), quiet=0.5)

    envelopes = [json.loads(r.value) for r in records]
    assert sorted(e["position"] for e in envelopes) == [s.position for s in expected]
    by_key: dict[bytes, list[int]] = {}
    for record, data in zip(records, envelopes, strict=True):
        assert record.key == data["aggregate_id"].encode()
        by_key.setdefault(record.key, []).append(data["position"])
    assert all(positions == sorted(positions) for positions in by_key.values())
    assert {e["type"] for e in envelopes} >= {"WalletOpened", "CreditsPurchased", "HoldPlaced",
                                              "GenerationRequested", "GenerationFailed", "HoldReleased"}
    assert not any(e["type"] == "ReferenceRecorded" for e in envelopes)


async def test_an_envelope_names_the_event_and_carries_its_fields(
    running: tuple[Ledger, Relay], kafka_bootstrap: str,
) -> None:
    ledger, relay = running
    await asyncio.to_thread(ledger.purchase, user_id="ana", payment_id="p-1", pack_id="starter", amount=100,
                            price=Money(9900, "INR"), at=T0)
    wallet = await asyncio.to_thread(ledger.wallet, "ana")
    assert wallet is not None

    records = await read_topic(kafka_bootstrap, relay.settings.events_topic, 2)

    purchased = json.loads(records[1].value)
    assert purchased["type"] == "CreditsPurchased"
    assert purchased["event_id"] == str(event_id(wallet.id, 2))
    assert purchased["aggregate_id"] == str(wallet.id)
    assert purchased["version"] == 1
    assert purchased["occurred_at"] == T0.isoformat()
    payload: dict[str, Any] = purchased["payload"]
    assert payload["credits"] == 100
    assert payload["price"] == {"minor": 9900, "currency": "INR"}
    assert payload["pack_id"] == "starter"
    assert len(payload["prev_hash"]) == 64
    assert dict(records[1].headers) == {"event_id": purchased["event_id"].encode(), "type": b"CreditsPurchased"}


async def test_generation_requests_also_go_to_generation_requested_keyed_by_generation(
    running: tuple[Ledger, Relay], kafka_bootstrap: str,
) -> None:
    ledger, relay = running
    await asyncio.to_thread(write_some_events, ledger, 3)

    records = await read_topic(kafka_bootstrap, relay.settings.generation_requested_topic, 3, quiet=0.5)

    envelopes = [json.loads(r.value) for r in records]
    assert [e["type"] for e in envelopes] == ["GenerationRequested"] * 3
    assert [r.key for r in records] == [e["aggregate_id"].encode() for e in envelopes]
    assert {e["payload"]["variables"]["title"] for e in envelopes} == {"T0", "T1", "T2"}


async def test_the_position_is_recorded_after_the_broker_acknowledged_and_lag_falls_to_zero(
    running: tuple[Ledger, Relay], kafka_bootstrap: str,
) -> None:
    ledger, relay = running
    await asyncio.to_thread(write_some_events, ledger, 4)
    head = ledger.recorder.max_notification_id()
    expected = [s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)]
    await read_topic(kafka_bootstrap, relay.settings.events_topic, len(expected))

    async with asyncio.timeout(10):
        while relay.position < head:
            await asyncio.sleep(0.05)
    assert relay.lag == 0
    assert positions_for(ledger.recorder).get(relay.name) == head


async def test_a_new_relay_resumes_from_the_recorded_position(pg_env: dict[str, str], kafka_bootstrap: str) -> None:
    ledger = Ledger(pg_env)
    settings = relay_settings(kafka_bootstrap)
    try:
        await asyncio.to_thread(write_some_events, ledger, 2)
        first_batch = len([s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)])
        first = Relay(ledger, settings)
        task = asyncio.create_task(first.run())
        await read_topic(kafka_bootstrap, settings.events_topic, first_batch)
        async with asyncio.timeout(10):
            while first.lag:
                await asyncio.sleep(0.05)
        first.stop()
        await task

        await asyncio.to_thread(write_some_events, ledger, 2, 2)
        second = Relay(ledger, settings)
        task = asyncio.create_task(second.run())
        total = len([s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)])
        records = await read_topic(kafka_bootstrap, settings.events_topic, total, quiet=0.5)
        second.stop()
        await task
    finally:
        ledger.close()
    ids = [json.loads(r.value)["event_id"] for r in records]
    assert len(ids) == len(set(ids)) == total


async def test_on_a_partitioned_topic_each_key_keeps_its_partition_and_its_order(
    pg_env: dict[str, str], kafka_bootstrap: str,
) -> None:
    settings = relay_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.events_topic, partitions=3)
    ledger = Ledger(pg_env)
    relay = Relay(ledger, settings)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.to_thread(write_some_events, ledger, 8)
        expected = [s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)]
        records = await read_topic(kafka_bootstrap, settings.events_topic, len(expected), quiet=0.5)
    finally:
        relay.stop()
        await task
        ledger.close()

    partitioner = DefaultPartitioner()
    assert len({r.partition for r in records}) > 1
    by_key: dict[bytes, list[int]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        assert record.partition == partitioner(record.key, [0, 1, 2], [0, 1, 2])
        by_key.setdefault(record.key, []).append(json.loads(record.value)["position"])
    assert all(positions == sorted(positions) for positions in by_key.values())
    assert sorted(p for positions in by_key.values() for p in positions) == [s.position for s in expected]


async def test_on_sqlite_the_relay_polls_and_publishes_new_events(sqlite_env: dict[str, str],
                                                                  kafka_bootstrap: str) -> None:
    ledger = Ledger(sqlite_env)
    relay = Relay(ledger, relay_settings(kafka_bootstrap))
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.to_thread(write_some_events, ledger, 2)
        expected = [s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)]
        records = await read_topic(kafka_bootstrap, relay.settings.events_topic, len(expected), quiet=0.5)
    finally:
        relay.stop()
        await task
        ledger.close()
    assert [json.loads(r.value)["position"] for r in records] == [s.position for s in expected]


async def test_while_the_database_is_unreachable_the_relay_waits_and_then_goes_on(
    running: tuple[Ledger, Relay], kafka_bootstrap: str, pg_env: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    ledger, relay = running
    await asyncio.to_thread(write_some_events, ledger, 1)
    database = pg_env["POSTGRES_DBNAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        try:
            await asyncio.sleep(2)
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    await asyncio.to_thread(write_some_events, ledger, 2, 1)
    expected = [s for s in await asyncio.to_thread(stored_events, ledger) if is_published(s)]

    records = await read_topic(kafka_bootstrap, relay.settings.events_topic, len(expected), within=40, quiet=0.5)

    assert {json.loads(r.value)["position"] for r in records} == {s.position for s in expected}
    assert "retrying" in caplog.text  # the relay saw the outage (reading or recording), and went on
