"""`audit verify`: replay everything, collect findings, and report them for people and machines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder

from projections.audit.parallel import verify_shares
from projections.audit.replay import Checkpoints, replay
from projections.audit.state import Finding
from projections.audit.stored import PAGE, extent
from projections.finance.revenue import RevenueBook, revenue_findings

SHOWN = 50


@dataclass
class Report:
    """What a verification found, with the figures that show how much was checked."""

    events: int
    wallets: int
    findings: list[Finding]
    problems: int
    journal: dict[str, int]
    seconds: float
    compared: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: list[float] = field(default_factory=list)  # of each worker process, when there were several
    rows_read: list[int] = field(default_factory=list)  # by each worker process
    cpu_seconds: list[float] = field(default_factory=list)  # spent by each worker process
    workers: int = 1

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        return self.problems == 0

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable report."""
        return {"ok": self.ok, "events": self.events, "wallets": self.wallets, "problems": self.problems,
                "journal_totals": self.journal, "projections_compared": self.compared,
                "seconds": round(self.seconds, 3), "workers": self.workers,
                "findings": [f.as_dict() for f in self.findings]}

    def text(self) -> str:
        """The report for a person: a verdict, then each finding."""
        rate = self.events / self.seconds if self.seconds else 0.0
        head = (f"{'OK' if self.ok else 'FAILED'}: {self.events} events, {self.wallets} wallets, "
                f"{self.problems} finding(s) in {self.seconds:.2f}s ({rate:,.0f} events/s"
                + (f", {self.workers} processes)" if self.workers > 1 else ")"))
        lines = [head]
        if self.compared:
            lines.append("projections compared: " + ", ".join(f"{k} {v}" for k, v in self.compared.items()))
        lines += [f"  {f}" for f in self.findings[:SHOWN]]
        if self.problems > SHOWN:
            lines.append(f"  ... and {self.problems - SHOWN} more (use --json for all kept)")
        return "\n".join(lines)


def run_verify(app: Application[Any], *, projections: Checkpoints | None = None, progress: bool = False,
               workers: int = 1) -> Report:
    """Replay ``app``'s event store and check everything; ``projections`` also diffs the read tables.

    With ``workers`` > 1 on PostgreSQL (and no projection diff) the wallets are split across processes."""
    started = time.perf_counter()
    if workers > 1:
        if projections is not None or not isinstance(app.recorder, PostgresApplicationRecorder):
            raise ValueError("several workers need a PostgreSQL event store and no projection diff")
        merged = verify_shares(dict(app.env), workers, PAGE, extent(app.recorder))
        return Report(merged["events"], merged["wallets"], merged["findings"], merged["problems"],
                      merged["journal"], time.perf_counter() - started, peak_rss_mb=merged["peak_rss_mb"],
                      workers=workers, rows_read=merged["rows_read"], cpu_seconds=merged["cpu_seconds"])
    book = RevenueBook()
    folded = replay(app, progress=progress, checkpoints=projections, on_entry=book)
    revenue_findings(folded, book)
    compared = getattr(projections, "compared", {})
    return Report(folded.events, len(folded.wallets), folded.findings, folded.problems, folded.journal,
                  time.perf_counter() - started, compared)
