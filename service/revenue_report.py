"""The revenue report use case: revenue, liability and breakage of a range of days, from the ledger alone."""

from __future__ import annotations

import threading
from datetime import date

from ledger import Ledger
from projections.finance.reading import revenue_report
from projections.finance.revenue import RevenueReport

# A report replays the whole log: at most this many at once in one process, so that finance reading
# cannot take every worker thread the learners' requests need.
AT_ONCE = 2
_running = threading.BoundedSemaphore(AT_ONCE)


class ReportsBusy(Exception):
    """As many revenue reports as may run at once are running already."""


def report(ledger: Ledger, *, start: date, end: date, position: int | None) -> RevenueReport:
    """The days of ``[start, end)`` and their months as of ``position`` (the whole log when None);
    ``ValueError`` for a range or position out of bounds, ``ReportsBusy`` when too many run already."""
    if not _running.acquire(blocking=False):
        raise ReportsBusy(f"{AT_ONCE} revenue reports are being computed already")
    try:
        return revenue_report(ledger, start, end, position=position)
    finally:
        _running.release()
