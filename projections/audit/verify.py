"""`audit verify`: replay everything, collect findings, and report them for people and machines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application

from projections.audit.replay import replay
from projections.audit.state import Finding

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

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        return self.problems == 0

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable report."""
        return {"ok": self.ok, "events": self.events, "wallets": self.wallets, "problems": self.problems,
                "journal_totals": self.journal, "projections_compared": self.compared,
                "seconds": round(self.seconds, 3), "findings": [f.as_dict() for f in self.findings]}

    def text(self) -> str:
        """The report for a person: a verdict, then each finding."""
        rate = self.events / self.seconds if self.seconds else 0.0
        head = (f"{'OK' if self.ok else 'FAILED'}: {self.events} events, {self.wallets} wallets, "
                f"{self.problems} finding(s) in {self.seconds:.2f}s ({rate:,.0f} events/s)")
        lines = [head]
        if self.compared:
            lines.append("projections compared: " + ", ".join(f"{k} {v}" for k, v in self.compared.items()))
        lines += [f"  {f}" for f in self.findings[:SHOWN]]
        if self.problems > SHOWN:
            lines.append(f"  ... and {self.problems - SHOWN} more (use --json for all kept)")
        return "\n".join(lines)


def run_verify(app: Application[Any], *, projections: Any = None, progress: bool = False) -> Report:
    """Replay ``app``'s event store and check everything; ``projections`` also diffs the read tables."""
    started = time.perf_counter()
    folded = replay(app, progress=progress, checkpoints=projections)
    compared = projections.compared if projections is not None else {}
    return Report(folded.events, len(folded.wallets), folded.findings, folded.problems, folded.journal,
                  time.perf_counter() - started, compared)
