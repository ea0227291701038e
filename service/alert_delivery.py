"""Alerts delivered as signed webhooks to ``STUDIO_ALERT_WEBHOOK_URL``, with retries, backoff and a delivery log.

The alerts themselves are told once by the ``wallet_alerts`` projection; this queues each for delivery (one
row per alert id, so never queued twice), posts it signed as our other webhooks are, with the alert id as
its ``Idempotency-Key`` (a receiver that saw it already ignores it), retries with doubling waits, and gives
up after ``attempts`` with the last error kept: an operator reads the log and replays a delivery."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from sqlalchemy import BigInteger, Column, Integer, MetaData, RowMapping, String, Table, Text, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from projections.alerts import tell_expiring, wallet_alerts
from projections.db import UTCDateTime, create_tables
from service.signing import HEADER, sign

log = logging.getLogger(__name__)
DeliveryStatus = Literal["pending", "delivered", "failed"]
MAX_BACKOFF = timedelta(hours=1)
BATCH = 100

metadata = MetaData()
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("alert_id", String(80), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
)


class AlertDeliverer:
    """Queues new alerts and posts the due ones; one turn per ``deliver()``."""

    def __init__(self, engine: Engine, *, url: str, secret: str, timeout_s: float, attempts: int, retry: timedelta,
                 clock: Callable[[], datetime], client: httpx.Client | None = None) -> None:
        self.engine = engine
        self.url = url
        self.secret = secret
        self.attempts = attempts
        self.retry = retry
        self.clock = clock
        self.client = client or httpx.Client(timeout=timeout_s)
        self._ready = False

    def setup(self) -> None:
        """Create the delivery log."""
        create_delivery_log(self.engine)
        self._ready = True

    def deliver(self, at: datetime | None = None) -> int:
        """Queue the alerts not yet queued, then post each due delivery once; how many were delivered."""
        at = at or self.clock()
        if not self._ready:
            self.setup()
        self._queue(at)
        with self.engine.connect() as conn:
            due = conn.execute(
                select(alert_deliveries.c.alert_id, alert_deliveries.c.attempts, wallet_alerts)
                .join(wallet_alerts, wallet_alerts.c.alert_id == alert_deliveries.c.alert_id)
                .where((alert_deliveries.c.status == "pending") & (alert_deliveries.c.next_try <= at))
                .order_by(alert_deliveries.c.position).limit(BATCH)).mappings().all()
        return sum(self._post(row, at) for row in due)

    def _queue(self, at: datetime) -> None:
        with self.engine.begin() as conn:
            queued = select(alert_deliveries.c.alert_id)
            fresh = conn.execute(select(wallet_alerts.c.alert_id, wallet_alerts.c.position)
                                 .where(wallet_alerts.c.alert_id.not_in(queued))
                                 .order_by(wallet_alerts.c.position).limit(BATCH)).all()
            if fresh:
                conn.execute(alert_deliveries.insert(), [
                    {"alert_id": a, "position": p, "status": "pending", "attempts": 0, "next_try": at,
                     "last_error": "", "delivered_at": None} for a, p in fresh])

    def _post(self, row: RowMapping, at: datetime) -> bool:
        body = json.dumps({"alert_id": row["alert_id"], "kind": row["kind"], "user_id": row["user_id"],
                           "occurred_at": row["occurred_at"].isoformat(), "details": row["details"]}).encode()
        headers = {HEADER: sign(self.secret, body, int(time.time())), "Content-Type": "application/json",
                   "Idempotency-Key": row["alert_id"]}
        try:
            response = self.client.post(self.url, content=body, headers=headers)
            error = "" if response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as failure:
            error = f"no answer: {type(failure).__name__}"
        attempts = row["attempts"] + 1
        if not error:
            self._record(row["alert_id"], status="delivered", attempts=attempts, next_try=at, error="", done=at)
            return True
        gave_up = attempts >= self.attempts
        wait = min(self.retry * 2 ** (attempts - 1), MAX_BACKOFF)
        self._record(row["alert_id"], status="failed" if gave_up else "pending", attempts=attempts,
                     next_try=at + wait, error=error, done=None)
        if gave_up:
            log.warning("alert %s not delivered after %s attempts: %s", row["alert_id"], attempts, error)
        return False

    def _record(self, alert_id: str, *, status: DeliveryStatus, attempts: int, next_try: datetime, error: str,
                done: datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(alert_deliveries).where(alert_deliveries.c.alert_id == alert_id).values(
                status=status, attempts=attempts, next_try=next_try, last_error=error, delivered_at=done))


def create_delivery_log(engine: Engine) -> None:
    """Create the delivery log's table if it is not there."""
    create_tables(engine, metadata, [alert_deliveries])


def deliveries(engine: Engine, *, status: DeliveryStatus | None, limit: int) -> list[dict[str, Any]]:
    """The delivery log, newest first, of one status when given."""
    query = select(alert_deliveries).order_by(alert_deliveries.c.position.desc()).limit(limit)
    if status is not None:
        query = query.where(alert_deliveries.c.status == status)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def replay(engine: Engine, *, alert_id: str, at: datetime) -> dict[str, Any] | None:
    """Deliver an alert again from its first attempt (an operator's replay); its log row, None if not there."""
    with engine.begin() as conn:
        conn.execute(update(alert_deliveries).where(alert_deliveries.c.alert_id == alert_id).values(
            status="pending", attempts=0, next_try=at, last_error=""))
        row = conn.execute(select(alert_deliveries).where(alert_deliveries.c.alert_id == alert_id)).mappings().first()
    return dict(row) if row is not None else None


class ExpiryWatch:
    """Tells each lot of credits about to lapse, once, from the read tables (run by the sweeper)."""

    def __init__(self, engine: Engine, *, within: timedelta) -> None:
        self.engine = engine
        self.within = within

    def tell(self, at: datetime) -> int:
        """Alert the lots lapsing within ``within`` of ``at`` not told yet; how many."""
        try:
            with self.engine.begin() as conn:
                return tell_expiring(conn, at=at, within=self.within)
        except IntegrityError:  # another sweeper told them in the meantime
            return 0
        except DBAPIError as error:  # the read tables not there yet (no projector ran): the next sweep tells
            log.warning("expiring credits not told this time: %s", error.orig)
            return 0
