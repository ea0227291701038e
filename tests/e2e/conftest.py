"""The fixtures most HTTP tests share: a SQLite service without the image pipeline, and a client of it.

A module that needs other settings (limits, stores, a pipeline) defines its own ``service``; ``client``
then serves that one. ``starter_pack`` gives alice a starter pack through the signed webhook; ``store`` is
a SQLite store with a busy month for the audit's command line; ``embedded`` the embedded default running.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.container import Service
from tests.support.audit import busy_store
from tests.support.embedded import embedded_service
from tests.support.http import client_for, purchase, service_for, signed


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
