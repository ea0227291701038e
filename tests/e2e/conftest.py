"""The fixtures most HTTP tests share: a SQLite service without the image pipeline, and a client of it.

A module that needs other settings (limits, stores, a pipeline) defines its own ``service``; ``client``
then serves that one. ``starter_pack`` gives alice a starter pack through the signed webhook; ``store`` is
a SQLite store with a busy month for the audit's command line; ``embedded`` the embedded default running;
``pipeline`` the relay and the result consumer on a real broker and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.messaging.broker import broker_for
from api.messaging.relay import Relay
from api.messaging.results import add_result_consumer
from ledger import Ledger
from service.container import Service
from service.settings.media import MediaSettings
from service.settings.messaging import MessagingSettings
from tests.support.audit import busy_store
from tests.support.embedded import embedded_service
from tests.support.http import client_for, purchase, service_for, signed
from tests.support.kafka_broker import create_topics, unique_name
from tests.support.pipeline import Pipeline


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A service on SQLite without the image pipeline."""
    return service_for("sqlite", tmp_path, with_pipeline=False)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service."""
    with client_for(service) as client:
        yield client


@pytest.fixture
def starter_pack(client: TestClient) -> None:
    """Alice holds a starter pack, bought through the signed payment webhook."""
    body, headers = signed(purchase("starter", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200


@pytest.fixture
def store(tmp_path: Path) -> dict[str, str]:
    """A SQLite event store with a busy month in it, and the settings that point at it."""
    return busy_store(tmp_path)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A `studio-ledger serve` process with a fresh data folder; its base URL and environment."""
    with embedded_service(tmp_path) as found:
        yield found


@pytest.fixture
async def pipeline(pg_env: dict[str, str], kafka_bootstrap: str, kafka_session_timeout_ms: int,
                   tmp_path: Path) -> AsyncIterator[Pipeline]:
    """Topics and groups of its own; the relay and the result consumer running on this loop."""
    settings = MediaSettings(
        kafka_bootstrap_servers=kafka_bootstrap, data_dir=tmp_path,
        generation_requested_topic=unique_name("generation.requested"),
        generation_completed_topic=unique_name("generation.completed"),
        generation_failed_topic=unique_name("generation.failed"),
        worker_group=unique_name("workers"), results_group=unique_name("results"),
        consumer_session_timeout_ms=kafka_session_timeout_ms,
        consumer_rebalance_timeout_ms=kafka_session_timeout_ms + 2000)
    await create_topics(kafka_bootstrap, settings.generation_requested_topic, settings.generation_completed_topic,
                        settings.generation_failed_topic, f"{settings.generation_requested_topic}.dlq")
    ledger = Ledger(pg_env)
    relay = Relay(ledger, MessagingSettings(kafka_bootstrap_servers=kafka_bootstrap,
                                            events_topic=unique_name("ledger.events"),
                                            generation_requested_topic=settings.generation_requested_topic,
                                            relay_name=unique_name("relay")))
    relaying = asyncio.create_task(relay.run())
    results = broker_for(settings)
    add_result_consumer(results, ledger, settings)
    await results.start()
    running = Pipeline(ledger, settings, tmp_path, [results])
    yield running
    for broker in running.brokers:
        await broker.stop()
    relay.stop()
    await asyncio.wait_for(relaying, 10)
    ledger.close()
