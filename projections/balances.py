"""`wallet_balances`: each wallet's credits now (available, held, by source) and over its lifetime."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Connection, Integer, String, Table, Uuid, bindparam, func, select, update

from ledger.event_store.follow import Stored
from ledger.values import PAID_SOURCES
from ledger.wallet import Wallet
from projections.base import Write
from projections.db import UTCDateTime, metadata

# Credits are BIGINT: each is a sum of amounts the ledger bounds by ledger.values.MAX_CREDITS, which
# reaches 2**63 only after 9.2e12 grants of the maximum to one wallet (the arithmetic is beside the limit).
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
TOTALS = ("balance", "held", "purchased", "granted", "spent", "expired", "clawed_back")


class _Page:
    """What one page changes: new wallets and grants, then sums of changes per grant and per wallet."""

    def __init__(self) -> None:
        self.wallets: list[dict[str, Any]] = []
        self.grants: list[dict[str, Any]] = []
        self.remaining: dict[str, int] = defaultdict(int)
        self.closed: dict[str, str] = {}
        self.totals: dict[UUID, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOTALS, 0))
        self.touched: dict[UUID, tuple[datetime, int]] = {}

    def shift(self, amounts: dict[str, int], sign: int) -> None:
        for grant_id, n in amounts.items():
            self.remaining[grant_id] += sign * n

    def add(self, wallet_id: UUID, **changes: int) -> None:
        for name, n in changes.items():
            self.totals[wallet_id][name] += n


class WalletBalances:
    """Keeps a row per wallet and a row per grant, so that availability can be read at any instant."""

    name = "wallet_balances"
    tables = (wallet_balances, wallet_grants)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's wallet events as changes to wallet and grant rows; other events are ignored."""
        changes = _Page()
        for stored in page:
            event = stored.event
            if isinstance(event, Wallet.WalletOpened):
                changes.wallets.append({
                    "wallet_id": event.originator_id, "user_id": event.user_id, **dict.fromkeys(TOTALS, 0),
                    "opened_at": event.timestamp, "updated_at": event.timestamp, "position": stored.position})
            elif isinstance(event, Wallet.Event):
                self._change(changes, event)
                changes.touched[event.originator_id] = (event.timestamp, stored.position)
        return self._writes(changes)

    def _change(self, page: _Page, event: Any) -> None:
        wallet = event.originator_id
        if isinstance(event, Wallet.GrantEvent):
            if isinstance(event, Wallet.CreditsAdjusted) and event.credits < 0:
                page.shift(event.taken, -1)
                taken = sum(event.taken.values())
                page.add(wallet, balance=-taken, clawed_back=taken)
                return
            page.grants.append({
                "grant_id": event.grant_id, "wallet_id": wallet, "source": event.source, "amount": event.credits,
                "remaining": event.credits, "expires_at": event.expires_at, "closed": None,
                "price_minor": event.price.minor if event.price else None,
                "currency": event.price.currency if event.price else None,
                "granted_at": event.timestamp, "version": event.originator_version})
            lifetime = "purchased" if event.source in PAID_SOURCES else "granted"
            page.add(wallet, balance=event.credits, **{lifetime: event.credits})
        elif isinstance(event, Wallet.HoldPlaced):
            page.shift(event.portions, -1)
            page.add(wallet, balance=-event.credits, held=event.credits)
        elif isinstance(event, Wallet.HoldResolution):
            page.shift(event.returned, +1)
            parts = [sum(d.values()) for d in (event.consumed, event.returned, event.expired, event.clawed_back)]
            page.add(wallet, balance=parts[1], held=-sum(parts), spent=parts[0], expired=parts[2],
                     clawed_back=parts[3])
        elif isinstance(event, Wallet.CreditsExpired):
            page.shift(event.expired, -1)
            page.add(wallet, balance=-sum(event.expired.values()), expired=sum(event.expired.values()))
        elif isinstance(event, Wallet.GrantClosed):
            page.shift({event.grant_id: event.clawed_back}, -1)
            page.closed[event.grant_id] = event.closed_as
            page.add(wallet, balance=-event.clawed_back, clawed_back=event.clawed_back)

    def _writes(self, page: _Page) -> list[Write]:
        writes: list[Write] = []
        if page.wallets:
            writes.append((wallet_balances.insert(), page.wallets))
        if page.grants:
            writes.append((wallet_grants.insert(), page.grants))
        shifts = [{"gid": k, "delta": v} for k, v in page.remaining.items() if v]
        if shifts:
            writes.append((SHIFT_GRANT, shifts))
        if page.closed:
            writes.append((CLOSE_GRANT, [{"gid": k, "how": v} for k, v in page.closed.items()]))
        if page.touched:
            writes.append((MOVE_BALANCE, [{"wid": wallet, "at": at, "pos": position,
                                           **{f"d_{name}": n for name, n in page.totals[wallet].items()}}
                                          for wallet, (at, position) in page.touched.items()]))
        return writes


# Built once (a statement made per page costs more to build and key for the cache than to run).
SHIFT_GRANT = update(wallet_grants).where(wallet_grants.c.grant_id == bindparam("gid")).values(
    remaining=wallet_grants.c.remaining + bindparam("delta"))
CLOSE_GRANT = update(wallet_grants).where(wallet_grants.c.grant_id == bindparam("gid")).values(
    closed=bindparam("how"))
MOVE_BALANCE = update(wallet_balances).where(wallet_balances.c.wallet_id == bindparam("wid")).values(
    updated_at=bindparam("at"), position=bindparam("pos"),
    **{name: getattr(wallet_balances.c, name) + bindparam(f"d_{name}") for name in TOTALS})


_g = wallet_grants.c
# The wallet's row and its open grants' remaining credits by source and expiry, in one statement: one
# row per (source, expiry), or a single row with no source when nothing is spendable. Grouping by the
# primary key lets the wallet's other columns be selected (PostgreSQL: functional dependency; SQLite:
# any). The expiry in the grouping gives the next expiry from the same rows, with no second query.
WALLET_AVAILABLE = (
    select(wallet_balances, _g.source, _g.expires_at.label("grant_expires_at"),
           func.sum(_g.remaining).label("source_remaining"))
    .outerjoin(wallet_grants, (_g.wallet_id == wallet_balances.c.wallet_id) & _g.closed.is_(None) & (_g.remaining > 0)
               & (_g.expires_at.is_(None) | (_g.expires_at > bindparam("at", type_=UTCDateTime))))
    .where(wallet_balances.c.user_id == bindparam("user_id"))
    .group_by(wallet_balances.c.wallet_id, _g.source, _g.expires_at)
)
GRANT_COLUMNS = ("source", "grant_expires_at", "source_remaining")
# The same statement as PostgreSQL reads it, sent to the driver as written: every command -> visible reads a
# wallet, and SQLAlchemy's statement machinery (cache key, parameters, result rows) was about half its CPU.
_WALLET_COLUMNS = ", ".join(f"w.{c.name}" for c in wallet_balances.c)  # the table's own names, above
PG_WALLET_AVAILABLE = (
    f"SELECT {_WALLET_COLUMNS}, g.source, g.expires_at AS grant_expires_at, "  # noqa: S608
    "sum(g.remaining) AS source_remaining FROM wallet_balances AS w LEFT OUTER JOIN wallet_grants AS g "
    "ON g.wallet_id = w.wallet_id AND g.closed IS NULL AND g.remaining > 0 "
    "AND (g.expires_at IS NULL OR g.expires_at > %(at)s) "
    "WHERE w.user_id = %(user_id)s GROUP BY w.wallet_id, g.source, g.expires_at")
# Stored as naive UTC (UTCDateTime): read back as aware UTC, as SQLAlchemy's statement gives them.
PG_WALLET_TIMES = (*(c.name for c in wallet_balances.c if isinstance(c.type, UTCDateTime)), "grant_expires_at")


def wallet_rows(conn: Connection, user_id: str, at: datetime, *, plain: bool | None = None) -> list[dict[str, Any]]:
    """``WALLET_AVAILABLE``'s rows; on PostgreSQL with psycopg (or with ``plain``) as ``PG_WALLET_AVAILABLE``."""
    if plain is None:
        plain = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    if not plain:
        return [dict(r) for r in conn.execute(WALLET_AVAILABLE, {"user_id": user_id, "at": at}).mappings()]
    naive = at.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime binds it
    found = conn.exec_driver_sql(PG_WALLET_AVAILABLE, {"user_id": user_id, "at": naive})
    rows = [dict(r) for r in found.mappings()]
    for row in rows:
        for name in PG_WALLET_TIMES:
            if row[name] is not None:
                row[name] = row[name].replace(tzinfo=UTC)
    return rows


def wallet_available(conn: Connection, user_id: str, at: datetime) -> dict[str, Any] | None:
    """The user's wallet row with the credits spendable at ``at`` (open grants not expired at that
    instant) by source and in all, and the soonest-lapsing ones as ``next_expiry`` (credits, instant)
    or None; None without a wallet."""
    rows = wallet_rows(conn, user_id, at)
    if not rows:
        return None
    wallet = {k: v for k, v in rows[0].items() if k not in GRANT_COLUMNS}
    by_source: dict[str, int] = {}
    lapsing: dict[datetime, int] = {}
    for r in rows:
        if r["source"] is None:
            continue
        by_source[r["source"]] = by_source.get(r["source"], 0) + int(r["source_remaining"])
        if r["grant_expires_at"] is not None:
            lapsing[r["grant_expires_at"]] = lapsing.get(r["grant_expires_at"], 0) + int(r["source_remaining"])
    soonest = min(lapsing, default=None)
    next_expiry = None if soonest is None else (lapsing[soonest], soonest)
    return {**wallet, "available": sum(by_source.values()), "by_source": by_source, "next_expiry": next_expiry}
