"""`journal`: the double-entry postings of every wallet event, in credits and in money at unit cost.

The postings come from ``ledger.postings`` (the auditor uses the same function), so the projection
and a full replay agree by construction; each event's postings sum to zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    bindparam,
    select,
    update,
)

from ledger.event_store.follow import Stored
from ledger.postings import Book, postings
from ledger.wallet import Wallet
from projections.base import Write
from projections.db import UTCDateTime, metadata

# One posting is at most one command's amount (ledger.values.MAX_CREDITS, MAX_MINOR); sums over the
# journal are taken in SQL (numeric on PostgreSQL) and fit a BIGINT for 9.2e8 payments of MAX_MINOR.
journal = Table(
    "journal",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("wallet_id", Uuid, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("account", String(300), nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("money_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", String(200), nullable=False),
    Index("ix_journal_account", "account"),
)

journal_books = Table(
    "journal_books",
    metadata,
    Column("wallet_id", Uuid, primary_key=True),
    Column("book", JSON, nullable=False),
)


class Journal:
    """Writes each wallet event's postings, keeping the per-wallet book the postings need."""

    name = "journal"
    tables = (journal, journal_books)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The postings of the page's wallet events, and the books they leave; other events are ignored."""
        events = [s for s in page if isinstance(s.event, Wallet.Event | Wallet.WalletOpened)]
        if not events:
            return []
        wallets = {s.event.originator_id for s in events}
        stored_books = {wallet_id: Book.from_dict(book)
                        for wallet_id, book in conn.execute(BOOKS, {"wallets": list(wallets)})}
        books = dict(stored_books)
        lines = []
        for stored in events:
            event = stored.event
            book = books.setdefault(event.originator_id, Book())
            for i, p in enumerate(postings(event, book)):
                lines.append({"position": stored.position, "line": i, "wallet_id": event.originator_id,
                              "occurred_at": event.timestamp, "event_type": stored.type, "account": p.account,
                              "credits": p.credits, "money_minor": p.money_minor, "currency": p.currency,
                              "memo": p.memo[:200]})
        writes: list[Write] = [(journal.insert(), lines)] if lines else []
        new = [{"wallet_id": k, "book": b.as_dict()} for k, b in books.items() if k not in stored_books]
        if new:
            writes.append((journal_books.insert(), new))
        known = [{"wid": k, "book_data": b.as_dict()} for k, b in books.items() if k in stored_books]
        if known:
            writes.append((MOVE_BOOK, known))
        return writes


BOOKS = select(journal_books.c.wallet_id, journal_books.c.book).where(
    journal_books.c.wallet_id.in_(bindparam("wallets", expanding=True)))
MOVE_BOOK = update(journal_books).where(journal_books.c.wallet_id == bindparam("wid")).values(
    book=bindparam("book_data"))
