"""Verifying a PostgreSQL event store with several processes: each folds the wallets (and their
generations) of its own share, so no state crosses between processes. PostgreSQL sends each process
only the rows of its share (``stored.share_filter``) and the few every share needs (references, and
templates, recharges and standings, which part 0 checks), all up to the same last position."""

from __future__ import annotations

import multiprocessing
import resource
from typing import Any

from projections.audit.state import Finding


def verify_shares(env: dict[str, str], workers: int, page: int, extent: tuple[int, int]) -> dict[str, Any]:
    """Fold the log, ``extent`` = (events, last position), in ``workers`` processes and merge what they found."""
    events, last = extent
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(_fold_share, [(env, part, workers, page, last) for part in range(workers)])
    journal: dict[str, int] = {}
    for result in results:
        for unit, total in result["journal"].items():
            journal[unit] = journal.get(unit, 0) + total
    findings: list[Finding] = sorted((f for r in results for f in r["findings"]), key=lambda f: f.position)
    return {"events": events, "wallets": sum(r["wallets"] for r in results),
            "findings": findings, "problems": sum(r["problems"] for r in results),
            "journal": journal, "peak_rss_mb": [r["peak_rss_mb"] for r in results],
            "rows_read": [r["events"] for r in results], "cpu_seconds": [r["cpu_seconds"] for r in results]}


def _fold_share(env: dict[str, str], part: int, parts: int, page: int, last: int) -> dict[str, Any]:
    from ledger import Ledger
    from projections.audit.replay import replay
    from projections.finance.revenue import RevenueBook, revenue_findings

    app = Ledger({**env, "CREATE_TABLE": "false"})  # the log exists; concurrent DDL would collide
    book = RevenueBook()  # the identity holds for any set of whole wallets: each share checks its own
    try:
        folded = replay(app, page=page, share=(part, parts), upto=last, on_entry=book)
        revenue_findings(folded, book)
    finally:
        app.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"events": folded.events, "wallets": len(folded.wallets), "findings": folded.findings,
            "problems": folded.problems, "journal": folded.journal,
            "peak_rss_mb": peak_rss_mb(), "cpu_seconds": usage.ru_utime + usage.ru_stime}


def peak_rss_mb() -> float:
    """This process's own peak resident memory: Linux's VmHWM, which starts afresh at exec, where
    ``ru_maxrss`` would carry over the parent's peak from the fork; elsewhere ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
