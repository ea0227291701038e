"""One relay, projector or sweeper leads, however many run: PostgreSQL advisory locks, file locks on SQLite."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.messaging.envelope import is_published
from api.messaging.relay import Relay
from api.processes.leading import work_while_leading
from ledger import Ledger
from service.leader import FileLock, Leadership, lock_for
from service.settings.store import StoreSettings
from tests.conftest import PG
from tests.support.kafka_broker import read_topic
from tests.support.relay import relay_settings, stored_events, write_some_events

pytestmark = pytest.mark.integration

def store_settings(pg_env: dict[str, str]) -> StoreSettings:
    """The processes' settings for the test's PostgreSQL schema."""
    return StoreSettings(backend="postgres", postgres_host=PG["host"], postgres_port=int(PG["port"]),
                         postgres_user=PG["user"], postgres_password=PG["password"],
                         postgres_db=pg_env["POSTGRES_DBNAME"], postgres_schema=pg_env["POSTGRES_SCHEMA"])

def end_session(database: str, lock: Any) -> None:
    """Cut the session of ``lock``, as a crash or a network partition would."""
    with psycopg.connect(dbname=database, autocommit=True, **PG) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (lock.session,))

def test_one_process_holds_a_lock_and_another_takes_it_when_the_holders_session_ends(
        pg_env: dict[str, str]) -> None:
    settings = store_settings(pg_env)
    first, second = lock_for("sweeper", settings), lock_for("sweeper", settings)
    other_schema = lock_for("sweeper", settings.model_copy(update={"postgres_schema": "elsewhere"}))
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert other_schema.try_acquire(), "deployments on other schemas lead on their own"
        assert first.still_held()

        end_session(pg_env["POSTGRES_DBNAME"], first)

        assert not first.still_held()
        assert second.try_acquire()
        assert second.still_held()
    finally:
        for lock in (first, second, other_schema):
            lock.release()

def test_a_leader_whose_lock_goes_is_told_within_a_check(pg_env: dict[str, str]) -> None:
    leadership = Leadership("projector", lock_for("projector", store_settings(pg_env)), check_every=0.1)
    told = threading.Event()
    assert leadership.wait(threading.Event())
    leadership.watch(told.set)
    try:
        end_session(pg_env["POSTGRES_DBNAME"], leadership.lock)
        assert told.wait(5)
        assert leadership.lost.is_set() and leadership.role == "lost"
    finally:
        leadership.release()

def test_a_standby_stops_waiting_when_asked(pg_env: dict[str, str]) -> None:
    settings = store_settings(pg_env)
    leader = Leadership("relay", lock_for("relay", settings))
    standby = Leadership("relay", lock_for("relay", settings), check_every=0.05)
    stopping = threading.Event()
    try:
        assert leader.wait(threading.Event())
        threading.Timer(0.3, stopping.set).start()
        started = time.monotonic()
        assert not standby.wait(stopping)
        assert 0.25 < time.monotonic() - started < 3
        assert standby.role == "standby"
    finally:
        leader.release()
        standby.release()

def test_on_sqlite_the_lock_is_a_file_lock(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "relay.leader"), FileLock(tmp_path / "relay.leader")
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()

async def test_two_relays_publish_every_event_once_and_the_standby_takes_over(
        pg_env: dict[str, str], kafka_bootstrap: str) -> None:
    settings = relay_settings(kafka_bootstrap)
    store = store_settings(pg_env)
    ledgers = [Ledger(pg_env), Ledger(pg_env)]
    relays = [Relay(ledger, settings) for ledger in ledgers]
    leaderships = [Leadership(f"relay {n}", lock_for(f"relay:{settings.relay_name}", store), check_every=0.1)
                   for n in range(2)]
    stops = [threading.Event(), threading.Event()]
    first = asyncio.create_task(work_while_leading(leaderships[0], stops[0], relays[0].run, relays[0].stop))
    await asyncio.sleep(0.5)  # the first takes the lock
    second = asyncio.create_task(work_while_leading(leaderships[1], stops[1], relays[1].run, relays[1].stop))
    try:
        await asyncio.to_thread(write_some_events, ledgers[0], 4)
        expected = [s.position for s in await asyncio.to_thread(stored_events, ledgers[0]) if is_published(s)]
        records = await read_topic(kafka_bootstrap, settings.events_topic, len(expected), quiet=1.5)
        assert sorted(json.loads(r.value)["position"] for r in records) == expected
        assert (leaderships[0].role, leaderships[1].role) == ("leader", "standby")

        stops[0].set()
        relays[0].stop()
        await asyncio.wait_for(first, 10)
        leaderships[0].release()  # as the process does on its way out
        await asyncio.to_thread(write_some_events, ledgers[1], 3, 10)
        expected = [s.position for s in await asyncio.to_thread(stored_events, ledgers[1]) if is_published(s)]

        records = await read_topic(kafka_bootstrap, settings.events_topic, len(expected), quiet=1.5)
        assert sorted(json.loads(r.value)["position"] for r in records) == expected
        assert leaderships[1].role == "leader"
        assert relays[1].published > 0, "the standby published what was written after it took over"
    finally:
        for stop, relay in zip(stops, relays, strict=True):
            stop.set()
            relay.stop()
        await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 10)
        for leadership, ledger in zip(leaderships, ledgers, strict=True):
            leadership.release()
            ledger.close()
