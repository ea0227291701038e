"""The finance reports' use case: revenue, liability and breakage of a range of days, from the ledger alone;
and the slot every report that replays the log (revenue, margins) takes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from ledger import Ledger
from projections.finance.reading import revenue_report
from projections.finance.revenue import RevenueReport

# A report replays the whole log: at most this many at once in one process (revenue and margins together),
# so that finance reading cannot take every worker thread the learners' requests need.
AT_ONCE = 2
_running = threading.BoundedSemaphore(AT_ONCE)


class ReportsBusy(Exception):
    """As many finance reports as may run at once are running already."""


@contextmanager
def report_slot() -> Iterator[None]:
    """One of the ``AT_ONCE`` slots for a report that replays the log, else ``ReportsBusy`` at once."""
    if not _running.acquire(blocking=False):
        raise ReportsBusy(f"{AT_ONCE} finance reports are being computed already")
    try:
        yield
    finally:
        _running.release()


def report(ledger: Ledger, *, start: date, end: date, position: int | None) -> RevenueReport:
    """The days of ``[start, end)`` and their months as of ``position`` (the whole log when None);
    ``ValueError`` for a range or position out of bounds, ``ReportsBusy`` when too many run already."""
    with report_slot():
        return revenue_report(ledger, start, end, position=position)
