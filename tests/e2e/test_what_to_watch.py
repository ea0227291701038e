"""Every metric an alert rule or a dashboard panel names is one the service really exports, and the gauges
the rules watch tell the truth: leaders, holds past their deadline, failures by reason, free connections."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.messaging.relay import Relay
from api.processes import consumer_metrics
from api.processes.relay import lag_metric
from ledger import Money
from service.container import Service
from service.leader import AdvisoryLock, lock_key, scoped_name
from service.settings.messaging import MessagingSettings
from tests.conftest import PG
from tests.support.http import client_for, service_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
ROOT = Path(__file__).parents[2]
METRIC = re.compile(r"\bstudio_[a-z0-9_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",), "unknown": ("",)}


def names(exposition: str) -> set[str]:
    """The series names an exposition offers, labelled families without a child yet included."""
    return {family.name + suffix for family in text_string_to_metric_families(exposition)
            for suffix in SUFFIXES[family.type]}


def gauge(exposition: str, name: str) -> dict[str, float]:
    """``name``'s samples by their one label's value ("" for none)."""
    return {next(iter(s.labels.values()), ""): s.value for family in text_string_to_metric_families(exposition)
            for s in family.samples if s.name == name}


@pytest.fixture
def service(tmp_path: Path, pg_env: dict[str, str]) -> Service:
    """The API on PostgreSQL with Kafka dispatch (so the relay's lag and its leader are watched), no pipeline."""
    return service_for("postgres", tmp_path, pg_env, with_pipeline=False, dispatch="kafka")


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with client_for(service) as client:
        yield client


def rule_metrics() -> set[str]:
    groups = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    return {m for group in groups for rule in group["rules"] for m in METRIC.findall(rule["expr"])}


def dashboard_metrics() -> set[str]:
    board = json.loads((ROOT / "deploy/grafana/studio-ledger.json").read_text())
    targets = [target for panel in board["panels"] for target in panel.get("targets", [])]
    return {m for target in targets for m in METRIC.findall(target["expr"])}


def exported(client: TestClient, service: Service) -> set[str]:
    """What the API, the relay and the Kafka consumers serve for Prometheus."""
    relay = Relay(service.ledger, MessagingSettings())
    return (names(client.get("/metrics").text) | names(generate_latest(lag_metric(relay)).decode())
            | names(generate_latest(consumer_metrics("127.0.0.1:9")[0]).decode()))


def test_every_metric_an_alert_rule_names_is_exported(client: TestClient, service: Service) -> None:
    named = rule_metrics()
    assert {"studio_kafka_unreadable_batches_total", "studio_projection_failures", "studio_leaders",
            "studio_kafka_dead_letters_total", "studio_request_seconds_count"} <= named
    assert named - exported(client, service) == set()


def test_every_metric_the_dashboard_names_is_exported(client: TestClient, service: Service) -> None:
    assert dashboard_metrics() - exported(client, service) == set()
    assert rule_metrics() <= dashboard_metrics()  # every figure an alert watches has its panel


def test_a_metric_the_service_does_not_export_would_be_caught(client: TestClient, service: Service) -> None:
    assert {"studio_relay_lag_seconds", "studio_dead_letters_total"} & exported(client, service) == set()


def test_the_leaders_gauge_shows_which_leading_part_no_process_holds(client: TestClient, service: Service,
                                                                    pg_env: dict[str, str]) -> None:
    # This API leads the projector once it takes its lock; it runs no sweeper (no pipeline) and no relay.
    wait_for_gauge(client, "studio_leaders", {"projector": 1.0, "sweeper": 0.0, "relay:relay": 0.0})

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(host=PG["host"], port=PG["port"], user=PG["user"], password=PG["password"],
                               dbname=pg_env["POSTGRES_DBNAME"], autocommit=True)

    relay = AdvisoryLock(scoped_name("relay:relay", service.store), connect)  # as `studio-ledger relay` takes it
    try:
        assert relay.try_acquire()
        wait_for_gauge(client, "studio_leaders", {"projector": 1.0, "sweeper": 0.0, "relay:relay": 1.0})
    finally:
        relay.release()
    # Keys with the high bit set and without (pg_locks splits a key into two unsigned halves).
    names = {sign: next(f"lock-{i}" for i in range(100) if (lock_key(f"lock-{i}") < 0) == (sign == "negative"))
             for sign in ("negative", "positive")}
    health = dataclasses.replace(service.health, leader_keys={s: lock_key(n) for s, n in names.items()})
    assert health.gauges()["studio_leaders"] == {"negative": 0.0, "positive": 0.0}
    locks = [AdvisoryLock(name, connect) for name in names.values()]
    try:
        assert all(lock.try_acquire() for lock in locks)
        assert health.gauges()["studio_leaders"] == {"negative": 1.0, "positive": 1.0}
    finally:
        for lock in locks:
            lock.release()
    free = gauge(client.get("/metrics").text, "studio_database_free_connections")[""]
    assert 0 < free < 10_000


def test_holds_past_their_deadline_and_failures_by_reason_are_counted(client: TestClient, service: Service) -> None:
    ledger, now = service.ledger, datetime.now(UTC)
    for user in ("ada", "bo", "cy"):
        ledger.purchase(user_id=user, payment_id=f"pay-{user}", pack_id="starter", amount=10,
                        price=Money(1000, "INR"), at=now - timedelta(hours=2))

    def request(user: str, at: datetime) -> Any:
        return ledger.request_generation(user_id=user, request_key="k1", template_id="teaser-banner",
                                         template_version=1, variables={"event": "Data Day", "date": "May 3"},
                                         input_image=None, cost=3, at=at).value

    request("ada", now - timedelta(hours=1))  # its hold's deadline passed, and no sweeper failed it
    refused = request("bo", now - timedelta(hours=1))
    ledger.fail_generation(generation_id=refused, reason="content_policy", retryable=False, at=now)
    request("cy", now)  # still within its term
    text = wait_for_gauge(client, "studio_holds_past_deadline", {"": 1.0})
    assert gauge(text, "studio_generation_failures") == {"content_policy": 1.0}


def wait_for_gauge(client: TestClient, name: str, expected: dict[str, float], within: float = 10.0) -> str:
    """The exposition once ``name`` reads ``expected`` (the projector applies the events meanwhile)."""
    deadline = time.monotonic() + within
    while True:
        text = client.get("/metrics").text
        if gauge(text, name) == expected or time.monotonic() > deadline:
            assert gauge(text, name) == expected, text
            return text
        time.sleep(0.05)
