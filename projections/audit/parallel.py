"""Verifying a PostgreSQL event store with several processes: each reads the whole log and folds
the wallets (and their generations) of its own share, so no state crosses between processes."""

from __future__ import annotations

import multiprocessing
import resource
from typing import Any

from projections.audit.state import Finding


def verify_shares(env: dict[str, str], workers: int, page: int) -> dict[str, Any]:
    """Fold the log in ``workers`` processes and merge what they found."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(_fold_share, [(env, part, workers, page) for part in range(workers)])
    journal: dict[str, int] = {}
    for result in results:
        for unit, total in result["journal"].items():
            journal[unit] = journal.get(unit, 0) + total
    findings: list[Finding] = sorted((f for r in results for f in r["findings"]), key=lambda f: f.position)
    return {"events": results[0]["events"], "wallets": sum(r["wallets"] for r in results),
            "findings": findings, "problems": sum(r["problems"] for r in results),
            "journal": journal, "peak_rss_mb": [r["peak_rss_mb"] for r in results]}


def _fold_share(env: dict[str, str], part: int, parts: int, page: int) -> dict[str, Any]:
    from ledger import Ledger
    from projections.audit.replay import replay
    from projections.finance.revenue import RevenueBook, revenue_findings

    app = Ledger({**env, "CREATE_TABLE": "false"})  # the log exists; concurrent DDL would collide
    book = RevenueBook()  # the identity holds for any set of whole wallets: each share checks its own
    try:
        folded = replay(app, page=page, share=(part, parts), on_entry=book)
        revenue_findings(folded, book)
    finally:
        app.close()
    return {"events": folded.events, "wallets": len(folded.wallets), "findings": folded.findings,
            "problems": folded.problems, "journal": folded.journal,
            "peak_rss_mb": peak_rss_mb()}


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
