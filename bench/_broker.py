"""The Kafka-protocol broker for one benchmark run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.kafka_broker import free_port, local_broker, wheel_binary


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """The given broker, or a local noida-db broker started for the run and stopped by its PID."""
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        command = [str(wheel_binary("noida_db", "noida-db")), "start", "--data-dir", data_dir, "--only", "kafka",
                   "--kafka-port", str(port)]
        with local_broker(command, port, Path(data_dir) / "broker.log") as servers:
            yield servers
