"""Wallet alerts on a real broker: each `wallet_alerts` row on `wallet.alerts` once, keyed by the learner, across
restarts, including a publisher that died after the broker took its alerts and before it logged them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from api.messaging import alerts as publishing
from api.messaging.alerts import AlertPublisher
from api.messaging.contract import WalletAlert
from projections.alerts import metadata as alert_tables
from projections.alerts import wallet_alerts
from service.settings.messaging import MessagingSettings
from tests.conftest import T0
from tests.support.kafka_broker import create_topics, read_topic, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A read database holding the alerts table."""
    made = create_engine(f"sqlite:///{tmp_path / 'read.db'}")
    alert_tables.create_all(made, tables=[wallet_alerts])
    yield made
    made.dispose()


def tell(engine: Engine, count: int, start: int = 0) -> list[str]:
    """``count`` low-balance alerts, as the projection writes them; their ids."""
    rows = [{"alert_id": f"low-balance@{n}", "position": n, "wallet_id": uuid4(), "user_id": f"user-{n % 3}",
             "kind": "low-balance", "occurred_at": T0 + timedelta(seconds=n),
             "details": {"available": 4, "threshold": 10}} for n in range(start, start + count)]
    with engine.begin() as conn:
        conn.execute(wallet_alerts.insert(), rows)
    return [r["alert_id"] for r in rows]


async def settings_with_topic(servers: str) -> MessagingSettings:
    """Settings whose alerts topic (three partitions) no other test uses."""
    settings = MessagingSettings(kafka_bootstrap_servers=servers, alerts_topic=unique_name("wallet.alerts"))
    await create_topics(servers, settings.alerts_topic, partitions=3)
    return settings


async def run_until_published(publisher: AlertPublisher, count: int) -> None:
    """Run the publisher until it published ``count`` alerts (in this run), then stop it."""
    task = asyncio.create_task(publisher.run())
    async with asyncio.timeout(20):
        while publisher.published < count and not task.done():
            await asyncio.sleep(0.05)
    publisher.stop()
    await task


def ids_on(records: list[Any]) -> list[str]:
    """The alert ids of the records read."""
    return [WalletAlert.model_validate_json(r.value).alert_id for r in records]


async def test_each_alert_is_published_once_keyed_by_its_learner_across_restarts(
        engine: Engine, kafka_bootstrap: str) -> None:
    settings = await settings_with_topic(kafka_bootstrap)
    first = tell(engine, 5)
    await run_until_published(AlertPublisher(engine, settings, interval=0.05), 5)
    later = tell(engine, 2, start=5)
    await run_until_published(AlertPublisher(engine, settings, interval=0.05), 2)

    records = await read_topic(kafka_bootstrap, settings.alerts_topic, 7, quiet=1.0)
    assert sorted(ids_on(records)) == sorted(first + later)
    for r in records:
        body = json.loads(r.value)
        assert r.key == body["user_id"].encode() and dict(r.headers)["alert_id"] == body["alert_id"].encode()


async def test_alerts_the_broker_took_before_a_crash_are_not_published_again(
        engine: Engine, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = await settings_with_topic(kafka_bootstrap)
    told = tell(engine, 4)
    logged = publishing.record

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("killed between the broker's acknowledgement and the log")

    monkeypatch.setattr(publishing, "record", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await AlertPublisher(engine, settings, interval=0.05).run()
    monkeypatch.setattr(publishing, "record", logged)

    restarted = AlertPublisher(engine, settings, interval=0.05)
    tell(engine, 1, start=4)
    await run_until_published(restarted, 1)

    records = await read_topic(kafka_bootstrap, settings.alerts_topic, 5, quiet=1.0)
    assert sorted(ids_on(records)) == sorted([*told, "low-balance@4"])
