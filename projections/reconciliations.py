"""`settlement_payments`, `reconciliation_runs` and `reconciliation_lines`: the payments a provider's settlement
report is matched against (every purchase and redemption, with its refund), and each reconciliation run with its
lines, queryable by outcome and exportable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from ledger.event_store.follow import Stored
from ledger.reconciliation import Reconciliation
from ledger.wallet import Wallet
from projections.balances import wallet_balances
from projections.base import Write
from projections.db import UTCDateTime, metadata

settlement_payments = Table(
    "settlement_payments",
    metadata,
    Column("source", String(20), primary_key=True),  # purchase | redemption
    Column("payment_id", String(200), primary_key=True),
    Column("wallet_id", Uuid, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Column("refund_minor", BigInteger, nullable=True),
    Column("refunded_at", UTCDateTime, nullable=True),
    Index("ix_settlement_payments_paid_at", "paid_at"),
    Index("ix_settlement_payments_payment_id", "payment_id"),
)

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("run_id", Uuid, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("file_format", String(20), nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("settled_from", UTCDateTime, nullable=True),
    Column("settled_to", UTCDateTime, nullable=True),
    Column("counts", JSON, nullable=False),
    Column("totals", JSON, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("overdue", Integer, nullable=False),
    Column("resolved", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
)

reconciliation_lines = Table(
    "reconciliation_lines",
    metadata,
    Column("run_id", Uuid, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("line", Integer, nullable=True),  # the file's line; null for a payment the report lacks
    Column("outcome", String(30), nullable=False),
    Column("payment_id", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("settled_at", UTCDateTime, nullable=True),
    Column("fee_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("ledger_minor", BigInteger, nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("overdue", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Column("resolved_by", String(200), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Index("ix_reconciliation_lines_outcome", "run_id", "outcome", "idx"),
)

LINE_COLUMNS = ("idx", "line", "outcome", "payment_id", "kind", "amount_minor", "currency", "settled_at", "fee_minor",
                "tax_minor", "user_id", "ledger_minor", "paid_at", "overdue", "detail", "resolved_by", "resolved_at")


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Reconciliations:
    """Keeps the payments a report is matched against, and each run with its lines and their resolutions."""

    name = "reconciliations"
    tables = (settlement_payments, reconciliation_runs, reconciliation_lines)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's payments, refunds, runs and resolutions, in order."""
        writes: list[Write] = []
        for stored in page:
            event = stored.event
            if isinstance(event, Wallet.CreditsPurchased | Wallet.CreditsRedeemed) and event.price is not None:
                writes.append((settlement_payments.insert(), {
                    "source": event.source, "payment_id": event.reference, "wallet_id": event.originator_id,
                    "price_minor": event.price.minor, "currency": event.price.currency, "paid_at": event.timestamp}))
            elif isinstance(event, Wallet.PurchaseRefunded):
                writes.append((update(settlement_payments).where(
                    (settlement_payments.c.source == "purchase")
                    & (settlement_payments.c.payment_id == event.reference)).values(
                    refund_minor=func.coalesce(settlement_payments.c.refund_minor, 0) + event.refund.minor,
                    refunded_at=event.timestamp), {}))
            elif isinstance(event, Reconciliation.ReconciliationRecorded):
                writes.extend(_run(stored, event))
            elif isinstance(event, Reconciliation.LineResolved):
                writes.append((update(reconciliation_lines).where(
                    (reconciliation_lines.c.run_id == event.originator_id)
                    & (reconciliation_lines.c.idx == event.index)).values(
                    resolved_by=event.by, resolved_at=event.timestamp), {}))
                writes.append((update(reconciliation_runs).where(reconciliation_runs.c.run_id == event.originator_id)
                               .values(resolved=reconciliation_runs.c.resolved + 1, position=stored.position), {}))
        return writes


def _run(stored: Stored, event: Any) -> list[Write]:
    lines = [{"run_id": event.originator_id, "idx": i, "line": line["line"], "outcome": line["outcome"],
              "payment_id": line["payment_id"], "kind": line["kind"], "amount_minor": line["amount_minor"],
              "currency": line["currency"], "settled_at": _instant(line["settled_at"]),
              "fee_minor": line["fee_minor"], "tax_minor": line["tax_minor"], "user_id": line["user_id"],
              "ledger_minor": line["ledger_minor"], "paid_at": _instant(line["paid_at"]),
              "overdue": line["overdue"], "detail": line["detail"], "resolved_by": None, "resolved_at": None}
             for i, line in enumerate(event.lines)]
    run = {"run_id": event.originator_id, "sha256": event.sha256, "file_name": event.file_name,
           "file_format": event.file_format, "imported_by": event.by, "recorded_at": event.timestamp,
           "settled_from": event.settled_from, "settled_to": event.settled_to, "counts": event.counts,
           "totals": event.totals, "lines": len(lines),
           "skipped": getattr(event, "skipped", 0), "overdue": sum(1 for line in lines if line["overdue"]),
           "resolved": 0, "position": stored.position}
    writes: list[Write] = [(reconciliation_runs.insert(), run)]
    if lines:
        writes.append((reconciliation_lines.insert(), lines))
    return writes


# Reads.

def payments(conn: Connection, *, ids: set[str], paid_from: datetime, paid_to: datetime) -> list[RowMapping]:
    """The purchases and redemptions named by ``ids`` or paid between the two instants, with their learner."""
    query = (select(settlement_payments, wallet_balances.c.user_id)
             .join(wallet_balances, wallet_balances.c.wallet_id == settlement_payments.c.wallet_id, isouter=True))
    rows = list(conn.execute(query.where(settlement_payments.c.paid_at.between(paid_from, paid_to))).mappings())
    named = sorted(ids)
    for start in range(0, len(named), 500):
        chunk = named[start:start + 500]
        rows.extend(conn.execute(query.where(settlement_payments.c.payment_id.in_(chunk))).mappings())
    return rows


def runs(conn: Connection, *, limit: int, before: int | None = None) -> list[RowMapping]:
    """The reconciliation runs, newest first (strictly before position ``before`` when given)."""
    query = select(reconciliation_runs)
    if before is not None:
        query = query.where(reconciliation_runs.c.position < before)
    return list(conn.execute(query.order_by(reconciliation_runs.c.position.desc()).limit(limit)).mappings())


def run(conn: Connection, run_id: UUID) -> RowMapping | None:
    """One run, or None."""
    return conn.execute(select(reconciliation_runs).where(reconciliation_runs.c.run_id == run_id)).mappings().first()


def lines(conn: Connection, run_id: UUID, *, outcomes: Sequence[str] = (), unmatched: bool = False,
          after: int = -1, limit: int | None = None) -> list[RowMapping]:
    """A run's lines in order, after index ``after``, of these outcomes (all when none; ``unmatched``: all but
    matched)."""
    query = select(reconciliation_lines).where((reconciliation_lines.c.run_id == run_id)
                                               & (reconciliation_lines.c.idx > after))
    if outcomes:
        query = query.where(reconciliation_lines.c.outcome.in_(list(outcomes)))
    if unmatched:
        query = query.where(reconciliation_lines.c.outcome != "matched")
    query = query.order_by(reconciliation_lines.c.idx)
    return list(conn.execute(query if limit is None else query.limit(limit)).mappings())
