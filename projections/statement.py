"""`wallet_statement`: one line per wallet event, with the change and the running balance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Index,
    String,
    Table,
    Uuid,
    bindparam,
    func,
    select,
)

from ledger.follow import Stored
from ledger.wallet import Wallet
from projections.base import Write
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

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """A line for each of the page's wallet events; other events are ignored."""
        events = [s for s in page if isinstance(s.event, Wallet.Event | Wallet.WalletOpened)]
        if not events:
            return []
        state = _last_lines(conn, {s.event.originator_id for s in events})
        lines = []
        for stored in events:
            event = stored.event
            if isinstance(event, Wallet.WalletOpened):
                state[event.originator_id] = (event.user_id, 0, 0)
            user_id, balance, held = state.get(event.originator_id, ("", 0, 0))
            change, held_change, reference, details = changes(event)
            state[event.originator_id] = (user_id, balance + change, held + held_change)
            lines.append({"position": stored.position, "wallet_id": event.originator_id, "user_id": user_id,
                          "occurred_at": event.timestamp, "type": stored.type, "change": change,
                          "held_change": held_change, "balance": balance + change, "held": held + held_change,
                          "reference": reference, "details": details})
        return [(wallet_statement.insert(), lines)]


def _last_lines(conn: Connection, wallets: set[UUID]) -> dict[UUID, tuple[str, int, int]]:
    """The user, balance and held credits of each wallet's latest statement line."""
    rows = conn.execute(LAST_LINES, {"wallets": list(wallets)})
    return {r.wallet_id: (r.user_id, r.balance, r.held) for r in rows}


_latest = (select(wallet_statement.c.wallet_id, func.max(wallet_statement.c.position).label("position"))
           .where(wallet_statement.c.wallet_id.in_(bindparam("wallets", expanding=True)))
           .group_by(wallet_statement.c.wallet_id).subquery())
LAST_LINES = (select(wallet_statement.c.wallet_id, wallet_statement.c.user_id, wallet_statement.c.balance,
                     wallet_statement.c.held)
              .join(_latest, (wallet_statement.c.wallet_id == _latest.c.wallet_id)
                    & (wallet_statement.c.position == _latest.c.position)))
