"""Alerts on Kafka: the ``wallet_alerts`` rows not yet published, and the publication log that says which were.

A row of ``alert_publications`` names where an alert landed (partition, offset), written once the broker
acknowledged it. A publisher that died between the acknowledgement and the row finds the gap on the topic
itself: every record after the last logged offset of a partition is logged before anything is published
again (``api.messaging.alerts``), so each alert id is published once, however often the process restarts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.engine import Engine

from projections.alerts import wallet_alerts
from projections.db import UTCDateTime, create_tables

metadata = MetaData()
alert_publications = Table(
    "alert_publications",
    metadata,
    Column("alert_id", String(80), primary_key=True),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
)


def create_publication_log(engine: Engine) -> None:
    """Create the publication log's table if it is not there."""
    create_tables(engine, metadata, [alert_publications])


def unpublished(engine: Engine, *, limit: int) -> list[dict[str, Any]]:
    """The alerts not published yet, oldest first, as the message each becomes."""
    with engine.connect() as conn:
        rows = conn.execute(select(wallet_alerts)
                            .where(wallet_alerts.c.alert_id.not_in(select(alert_publications.c.alert_id)))
                            .order_by(wallet_alerts.c.position, wallet_alerts.c.alert_id).limit(limit)).mappings()
        return [message(row) for row in rows]


def message(row: Any) -> dict[str, Any]:
    """An alert as published on ``wallet.alerts`` (the body its webhook carries, with its type)."""
    return {"type": "WalletAlert", "version": 1, "alert_id": row["alert_id"], "kind": row["kind"],
            "user_id": row["user_id"], "occurred_at": row["occurred_at"].isoformat(), "position": row["position"],
            "details": row["details"]}


def last_offsets(engine: Engine) -> dict[int, int]:
    """Per partition, the offset of the last alert logged there."""
    with engine.connect() as conn:
        rows = conn.execute(select(alert_publications.c.partition, func.max(alert_publications.c.offset))
                            .group_by(alert_publications.c.partition)).all()
    return {int(partition): int(offset) for partition, offset in rows}


def record(engine: Engine, published: Iterable[tuple[str, int, int]], *, at: datetime) -> int:
    """Log (alert id, partition, offset) of alerts the broker acknowledged; ones logged already are left be."""
    wanted = {alert_id: (partition, offset) for alert_id, partition, offset in published}
    if not wanted:
        return 0
    with engine.begin() as conn:
        known = set(conn.execute(select(alert_publications.c.alert_id)
                                 .where(alert_publications.c.alert_id.in_(list(wanted)))).scalars())
        fresh = [{"alert_id": a, "partition": p, "offset": o, "published_at": at}
                 for a, (p, o) in wanted.items() if a not in known]
        if fresh:
            conn.execute(alert_publications.insert(), fresh)
    return len(fresh)
