"""A database or the network out of reach (a restart, no free connection) is a 503 to retry with
``Retry-After``, never a 500: the client repeats, and a command repeated with its Idempotency-Key is applied
once. A file missing on our side is no such outage: that stays a 500."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient

from service.container import Service
from tests.support.http import ALICE, POSTER, buy

pytestmark = pytest.mark.e2e


def test_a_read_database_out_of_reach_is_a_503_to_retry(client: TestClient, service: Service,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    buy(client)

    def refused(*_: Any, **__: Any) -> Any:
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("FATAL: sorry, too many clients already"))

    monkeypatch.setattr(service.reads, "connect", refused)
    answer = client.get("/v1/wallet", headers=ALICE)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1", answer.text
    assert answer.json()["type"].endswith(":temporarily-unavailable")
    monkeypatch.undo()
    assert client.get("/v1/wallet", headers=ALICE).json()["available"] == 100


def test_a_command_whose_ledger_is_out_of_reach_is_a_503_and_its_repeat_is_applied_once(
        client: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    buy(client)
    ledger = service.ledger
    request_generation = ledger.request_generation

    def once_out_of_reach(**kwargs: Any) -> Any:
        monkeypatch.setattr(ledger, "request_generation", request_generation)
        raise psycopg.OperationalError("connection to server at 127.0.0.1 failed: too many clients already")

    monkeypatch.setattr(ledger, "request_generation", once_out_of_reach)
    headers = {**ALICE, "Idempotency-Key": "poster-1"}
    first = client.post("/v1/generations", json=POSTER, headers=headers)
    assert first.status_code == 503 and first.headers["Retry-After"] == "1", first.text
    again = client.post("/v1/generations", json=POSTER, headers=headers)
    assert again.status_code == 202, again.text
    repeat = client.post("/v1/generations", json=POSTER, headers=headers)
    assert repeat.json()["generation_id"] == again.json()["generation_id"]
    templates = client.get("/v1/templates", headers=ALICE).json()
    cost = next(t["cost"] for t in templates if t["id"] == POSTER["template_id"])
    wallet = client.get(f"/v1/wallet?min_position={repeat.json()['position']}", headers=ALICE).json()
    assert (wallet["held"], wallet["available"]) == (cost, 100 - cost)  # one hold, held once


def test_a_file_missing_on_our_side_stays_a_500(client: TestClient, service: Service,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_: Any, **__: Any) -> Any:
        raise FileNotFoundError("/data/policy.toml")

    monkeypatch.setattr(service.reads, "connect", missing)
    assert client.get("/v1/wallet", headers=ALICE).status_code == 500
