"""`journal`: the double-entry postings of every wallet event, in credits and in money at unit cost.

The postings come from ``ledger.journal`` (the auditor uses the same function), so the projection
and a full replay agree by construction; each event's postings sum to zero.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Connection, Index, Integer, String, Table, Uuid, select, update

from ledger.follow import Stored
from ledger.journal import Book, postings
from ledger.wallet import Wallet
from projections.db import UTCDateTime, metadata

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

    def apply(self, conn: Connection, stored: Stored) -> None:
        """Apply one wallet event; other events are ignored."""
        event = stored.event
        if not isinstance(event, Wallet.Event | Wallet.WalletOpened):
            return
        saved = conn.execute(select(journal_books.c.book).where(journal_books.c.wallet_id == event.originator_id)
                             ).scalar()
        book = Book.from_dict(saved) if saved is not None else Book()
        lines = postings(event, book)
        if lines:
            conn.execute(journal.insert(), [
                {"position": stored.position, "line": i, "wallet_id": event.originator_id,
                 "occurred_at": event.timestamp, "event_type": stored.type, "account": p.account,
                 "credits": p.credits, "money_minor": p.money_minor, "currency": p.currency, "memo": p.memo[:200]}
                for i, p in enumerate(lines)])
        if saved is None:
            conn.execute(journal_books.insert().values(wallet_id=event.originator_id, book=book.as_dict()))
        else:
            conn.execute(update(journal_books).where(journal_books.c.wallet_id == event.originator_id)
                         .values(book=book.as_dict()))
