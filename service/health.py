"""How the API process is doing: readiness of its dependencies, and the gauges it exports."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from ledger import Ledger
from ledger.event_store.tracking import Positions, positions_for
from projections import queries
from projections.failures import failure_counts, failures


@dataclass
class Health:
    """Readiness checks and gauges over the event store, the read database and (with Kafka) the broker."""

    ledger: Ledger
    engine: Engine
    projected: Callable[[], int]  # the position every projection reached
    ready_max_lag: int
    kafka_servers: str | None = None  # with Kafka dispatch: the broker, and the relay whose lag is a gauge
    relay_name: str = "relay"
    hold_term: timedelta = timedelta(minutes=10)  # a generation's hold: past it the sweeper fails the generation
    store_database: str | None = None  # PostgreSQL: the event store's database, where the leaders' locks are
    leader_keys: dict[str, int] = field(default_factory=dict)  # each leading part's advisory lock key
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    _relay: Positions | None = field(default=None, repr=False)

    def readiness(self) -> dict[str, str]:
        """Each dependency's state: "ok" or what is wrong."""
        checks: dict[str, str] = {}
        try:
            head = self.ledger.recorder.max_notification_id() or 0
            checks["event_store"] = "ok"
        except Exception as error:  # any failure of the store means not ready
            head, checks["event_store"] = 0, f"unavailable: {type(error).__name__}"
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["read_database"] = "ok"
        except Exception as error:  # any failure of the read database means not ready
            checks["read_database"] = f"unavailable: {type(error).__name__}"
        lag = max(0, head - self.projected()) if checks["read_database"] == "ok" else -1
        checks["projections"] = "ok" if 0 <= lag <= self.ready_max_lag else f"lagging by {lag} positions"
        if self.kafka_servers is not None:
            checks["broker"] = broker_reachable(self.kafka_servers)
        return checks

    def set_aside(self, shown: int = 10) -> list[str]:
        """The events projections set aside because they cannot apply them (the first ``shown``), each with
        its position and reason: not a reason to refuse traffic (every other read keeps following), but
        an operator's to resolve (``studio-ledger projections failures``)."""
        try:
            with self.engine.connect() as conn:
                return [str(found) for found in failures(conn)[:shown]]
        except Exception:  # the read database check already says what is wrong with it
            return []

    def gauges(self) -> dict[str, dict[str, float]]:
        """Generations by status and failure reason, credits held, holds past their deadline, each projection's
        lag, (with Kafka) the relay's, and on PostgreSQL the leaders and the free connections."""
        head = self.ledger.recorder.max_notification_id() or 0
        with self.engine.connect() as conn:
            statuses = queries.generations_by_status(conn)
            reasons = queries.failures_by_reason(conn)
            held = queries.pending_holds(conn)
            overdue = queries.unfinished_since(conn, self.clock() - self.hold_term)
            positions = queries.tracked_positions(conn)
            set_aside = failure_counts(conn)
            server = self._server(conn) if conn.dialect.name == "postgresql" else {}
        gauges: dict[str, dict[str, float]] = {
            "studio_generations": {k: float(v) for k, v in statuses.items()},
            "studio_generation_failures": {k: float(v) for k, v in reasons.items()},
            "studio_held_credits": {"": float(held)},
            "studio_holds_past_deadline": {"": float(overdue)},
            "studio_projection_lag": {k: float(max(0, head - v)) for k, v in positions.items()},
            "studio_projection_failures": {k: float(set_aside.get(k, 0)) for k in positions},
            **server,
        }
        if self.kafka_servers is not None:
            if self._relay is None:
                self._relay = positions_for(self.ledger.recorder)
            gauges["studio_relay_lag"] = {"": float(max(0, head - self._relay.get(self.relay_name)))}
        return gauges

    def _server(self, conn: Connection) -> dict[str, dict[str, float]]:
        # Connections the server still accepts for ordinary roles, and which leaders' advisory locks are held
        # (by any process, in the event store's database): the server's view, whoever the holders are.
        free = conn.execute(text(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity)")).scalar_one()
        # A bigint key is held as two unsigned 32-bit halves; joined again in a bigint, the shift wraps just as
        # the key's two's complement does, so the signed key comes back whatever its high bit.
        held = {int(key) for (key,) in conn.execute(text(
            "SELECT ((classid::bigint << 32) | objid::bigint) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = coalesce(:db, "
            "current_database()))"), {"db": self.store_database})}
        return {"studio_database_free_connections": {"": float(free)},
                "studio_leaders": {part: float(key in held) for part, key in self.leader_keys.items()}}


def broker_reachable(bootstrap_servers: str) -> str:
    """"ok" if one of the bootstrap servers accepts a connection, else which were tried."""
    servers = bootstrap_servers.split(",")
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return "ok"
        except OSError:
            continue
    return f"unreachable: {','.join(servers)}"
