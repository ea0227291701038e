"""Reading the event store for finance: the revenue report as of any ledger position."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.application import Application
from tqdm import tqdm

from projections.audit.fold import Replay
from projections.audit.stored import head, rows
from projections.finance.revenue import RevenueBook, RevenueReport, check_range


def revenue_report(app: Application[Any], start: date, end: date, *, position: int | None = None,
                   progress: bool = False) -> RevenueReport:
    """Revenue, liability and breakage of the days in ``[start, end)`` from ``app``'s events up to ``position``
    (the whole log when None); ``ValueError`` for a range ``check_range`` refuses or a position past the log."""
    check_range(start, end)
    last = head(app)
    if position is not None and not 0 <= position <= last:
        raise ValueError(f"as-of position {position} is outside the ledger, which has positions 0 to {last}")
    book = revenue_book(app, position=last if position is None else position, progress=progress)
    return book.report(start, end)


def revenue_book(app: Application[Any], *, position: int, progress: bool = False) -> RevenueBook:
    """Every day's flows and stock from ``app``'s events up to and including ``position``."""
    book = RevenueBook()
    folded = Replay(on_entry=book)
    pages = rows(app)
    bar = tqdm(total=position, unit="ev", unit_scale=True, desc="revenue", leave=False, disable=not progress)
    try:
        for page in pages:
            if page[0].position > position:
                break
            folded.feed([r for r in page if r.position <= position] if page[-1].position > position else page)
            bar.update(min(page[-1].position, position) - bar.n)
    finally:
        bar.close()
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # on PostgreSQL: ends the server-side cursor and its reading thread now
    book.position = position
    return book
