"""`wallet_statement`: one line per wallet event, with the change and the running balance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Connection, Index, String, Table, Uuid, select

from ledger.follow import Stored
from ledger.wallet import Wallet
from projections.db import UTCDateTime, metadata

wallet_statement = Table(
    "wallet_statement",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("wallet_id", Uuid, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("type", String(40), nullable=False),
    Column("change", BigInteger, nullable=False),
    Column("held_change", BigInteger, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("reference", String(200), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_wallet_statement_user_position", "user_id", "position"),
    Index("ix_wallet_statement_wallet_position", "wallet_id", "position"),
)


def changes(event: Any) -> tuple[int, int, str, dict[str, Any]]:
    """What one wallet event does to the balance and to held credits, its reference, and its details."""
    if isinstance(event, Wallet.CreditsAdjusted):
        change = event.credits if event.credits > 0 else -sum(event.taken.values())
        return change, 0, event.reference, {"reason": event.reason, "grant_id": event.grant_id}
    if isinstance(event, Wallet.GrantEvent):
        details: dict[str, Any] = {"grant_id": event.grant_id, "source": event.source,
                                   "expires_at": event.expires_at.isoformat() if event.expires_at else None}
        if event.price is not None:
            details["price"] = {"minor": event.price.minor, "currency": event.price.currency}
        return event.credits, 0, event.reference, details
    if isinstance(event, Wallet.HoldPlaced):
        return -event.credits, event.credits, event.hold_id, {"expires_at": event.expires_at.isoformat(),
                                                              "meta": event.meta}
    if isinstance(event, Wallet.HoldResolution):
        parts = {k: sum(v.values()) for k, v in (("consumed", event.consumed), ("returned", event.returned),
                                                 ("expired", event.expired), ("clawed_back", event.clawed_back))}
        return parts["returned"], -sum(parts.values()), event.hold_id, parts
    if isinstance(event, Wallet.CreditsExpired):
        return -sum(event.expired.values()), 0, "", {"grants": dict(event.expired)}
    if isinstance(event, Wallet.GrantClosed):
        return -event.clawed_back, 0, event.reference, {"grant_id": event.grant_id, "spent": event.spent,
                                                        "held": event.held}
    return 0, 0, "", {}


class WalletStatement:
    """Appends a statement line for every wallet event, carrying the wallet's balance after it."""

    name = "wallet_statement"
    tables = (wallet_statement,)

    def apply(self, conn: Connection, stored: Stored) -> None:
        """Apply one wallet event; other events are ignored."""
        event = stored.event
        if not isinstance(event, Wallet.Event | Wallet.WalletOpened):
            return
        last = conn.execute(
            select(wallet_statement.c.user_id, wallet_statement.c.balance, wallet_statement.c.held)
            .where(wallet_statement.c.wallet_id == event.originator_id)
            .order_by(wallet_statement.c.position.desc()).limit(1)).first()
        user_id = event.user_id if isinstance(event, Wallet.WalletOpened) else last.user_id if last else ""
        balance, held = (last.balance, last.held) if last else (0, 0)
        change, held_change, reference, details = changes(event)
        conn.execute(wallet_statement.insert().values(
            position=stored.position, wallet_id=event.originator_id, user_id=user_id,
            occurred_at=event.timestamp, type=stored.type, change=change, held_change=held_change,
            balance=balance + change, held=held + held_change, reference=reference, details=details))
