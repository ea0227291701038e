"""`wallet_balances`: each wallet's credits now (available, held, by source) and over its lifetime."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Integer, String, Table, Uuid, func, select, update

from ledger.follow import Stored
from ledger.values import PAID_SOURCES
from ledger.wallet import Wallet
from projections.db import UTCDateTime, metadata

wallet_balances = Table(
    "wallet_balances",
    metadata,
    Column("wallet_id", Uuid, primary_key=True),
    Column("user_id", String(200), nullable=False, unique=True),
    Column("balance", BigInteger, nullable=False, default=0),
    Column("held", BigInteger, nullable=False, default=0),
    Column("purchased", BigInteger, nullable=False, default=0),
    Column("granted", BigInteger, nullable=False, default=0),
    Column("spent", BigInteger, nullable=False, default=0),
    Column("expired", BigInteger, nullable=False, default=0),
    Column("clawed_back", BigInteger, nullable=False, default=0),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("position", BigInteger, nullable=False),
)

wallet_grants = Table(
    "wallet_grants",
    metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("wallet_id", Uuid, nullable=False, index=True),
    Column("source", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("closed", String(20), nullable=True),
    Column("price_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)


class WalletBalances:
    """Keeps a row per wallet and a row per grant, so that availability can be read at any instant."""

    name = "wallet_balances"
    tables = (wallet_balances, wallet_grants)

    def apply(self, conn: Connection, stored: Stored) -> None:
        """Apply one wallet event; other events are ignored."""
        event = stored.event
        if isinstance(event, Wallet.WalletOpened):
            conn.execute(wallet_balances.insert().values(
                wallet_id=event.originator_id, user_id=event.user_id, balance=0, held=0, purchased=0, granted=0,
                spent=0, expired=0, clawed_back=0, opened_at=event.timestamp, updated_at=event.timestamp,
                position=stored.position))
            return
        if not isinstance(event, Wallet.Event):
            return
        totals: dict[str, int] = {}
        if isinstance(event, Wallet.GrantEvent):
            totals = self._grant(conn, event)
        elif isinstance(event, Wallet.HoldPlaced):
            self._shift(conn, event.portions, -1)
            totals = {"balance": -event.credits, "held": event.credits}
        elif isinstance(event, Wallet.HoldResolution):
            self._shift(conn, event.returned, +1)
            amount = sum(sum(d.values()) for d in (event.consumed, event.returned, event.expired, event.clawed_back))
            totals = {"balance": sum(event.returned.values()), "held": -amount,
                      "spent": sum(event.consumed.values()), "expired": sum(event.expired.values()),
                      "clawed_back": sum(event.clawed_back.values())}
        elif isinstance(event, Wallet.CreditsExpired):
            self._shift(conn, event.expired, -1)
            totals = {"balance": -sum(event.expired.values()), "expired": sum(event.expired.values())}
        elif isinstance(event, Wallet.GrantClosed):
            self._shift(conn, {event.grant_id: event.clawed_back}, -1)
            conn.execute(update(wallet_grants).where(wallet_grants.c.grant_id == event.grant_id)
                         .values(closed=event.closed_as))
            totals = {"balance": -event.clawed_back, "clawed_back": event.clawed_back}
        changes: dict[str, Any] = {k: getattr(wallet_balances.c, k) + v for k, v in totals.items() if v}
        conn.execute(update(wallet_balances).where(wallet_balances.c.wallet_id == event.originator_id)
                     .values(updated_at=event.timestamp, position=stored.position, **changes))

    def _grant(self, conn: Connection, event: Wallet.GrantEvent) -> dict[str, int]:
        if isinstance(event, Wallet.CreditsAdjusted) and event.credits < 0:
            self._shift(conn, event.taken, -1)
            taken = sum(event.taken.values())
            return {"balance": -taken, "clawed_back": taken}
        conn.execute(wallet_grants.insert().values(
            grant_id=event.grant_id, wallet_id=event.originator_id, source=event.source, amount=event.credits,
            remaining=event.credits, expires_at=event.expires_at, closed=None,
            price_minor=event.price.minor if event.price else None,
            currency=event.price.currency if event.price else None,
            granted_at=event.timestamp, version=event.originator_version))
        lifetime = "purchased" if event.source in PAID_SOURCES else "granted"
        return {"balance": event.credits, lifetime: event.credits}

    def _shift(self, conn: Connection, amounts: dict[str, int], sign: int) -> None:
        for grant_id, n in amounts.items():
            conn.execute(update(wallet_grants).where(wallet_grants.c.grant_id == grant_id)
                         .values(remaining=wallet_grants.c.remaining + sign * n))


def available_by_source(conn: Connection, wallet_id: Any, at: datetime) -> dict[str, int]:
    """Credits of the wallet spendable at ``at``, by source: open grants not expired at that instant."""
    usable = ((wallet_grants.c.wallet_id == wallet_id) & wallet_grants.c.closed.is_(None)
              & (wallet_grants.c.remaining > 0)
              & (wallet_grants.c.expires_at.is_(None) | (wallet_grants.c.expires_at > at)))
    rows = conn.execute(select(wallet_grants.c.source, func.sum(wallet_grants.c.remaining))
                        .where(usable).group_by(wallet_grants.c.source))
    return {source: int(total) for source, total in rows}
