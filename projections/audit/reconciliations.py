"""The audit's fold of reconciliation runs: each run under the id of its file's digest, its counts the tally of its
lines and its totals their sum, and each resolution of a paid-but-no-credits line made once, on such a line, with
the payment credited by a purchase under the same id (checked at the end of the log). The journal shows a run and
each resolution as a zero line (who, what file, what it came to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ledger.reconciliation import OUTCOMES, LineOutcome, reconciliation_id, tally
from projections.audit.stored import Row, decode

RECONCILIATION = "ledger.reconciliation:Reconciliation."


@dataclass
class RunState:
    """One run as the replay has folded it so far."""

    version: int = 0
    outcomes: list[str] = field(default_factory=list)
    payments: list[str] = field(default_factory=list)
    resolved: dict[int, tuple[int, str]] = field(default_factory=dict)  # line index -> (position, payment id)


class Findings(Protocol):
    """Where the reconciliation fold reports (``projections.audit.fold.Replay``)."""

    reconciliations: dict[str, RunState]

    def find(self, user: str, where: Row | tuple[int, str] | None, problem: str, wallet: str = "") -> None:
        """Record a finding at a row."""


def fold_reconciliation(replay: Findings, row: Row) -> dict[str, Any]:
    """Check and fold one reconciliation event; its decoded fields."""
    fields = decode(row.state)
    state = replay.reconciliations.setdefault(row.originator_id, RunState())
    name = f"reconciliation {row.originator_id}"
    if row.version != state.version + 1:
        replay.find("", row, f"{name}: event version {row.version} follows version {state.version}")
    state.version = max(state.version, row.version)
    if row.kind == "ReconciliationRecorded":
        _recorded(replay, row, fields, state, name)
    elif row.kind == "LineResolved":
        index = fields["index"]
        if not 0 <= index < len(state.outcomes) or state.outcomes[index] != LineOutcome.PAID_NO_CREDITS:
            replay.find("", row, f"{name}: line {index} resolved, which is not a paid_no_credits line")
        elif index in state.resolved:
            replay.find("", row, f"{name}: line {index} resolved twice")
        elif fields["payment_id"] != state.payments[index]:
            replay.find("", row, f"{name}: line {index} resolved under payment {fields['payment_id']}, the line "
                                 f"names {state.payments[index]}")
        state.resolved[index] = (row.position, fields["payment_id"])
    else:
        replay.find("", row, f"{name}: unknown reconciliation event {row.kind}")
    return fields


def _recorded(replay: Findings, row: Row, fields: dict[str, Any], state: RunState, name: str) -> None:
    lines = fields["lines"]
    if str(reconciliation_id(fields["sha256"])) != row.originator_id:
        replay.find("", row, f"{name} is not the run of its file's SHA-256: the event was altered")
    if any(line.get("outcome") not in OUTCOMES for line in lines):
        replay.find("", row, f"{name}: a line has an unknown outcome")
        return
    if tally(lines) != fields["counts"]:
        replay.find("", row, f"{name}: counts {fields['counts']} are not the tally of its lines {tally(lines)}")
    totals: dict[str, dict[str, int]] = {}
    for line in lines:
        if line["line"] is None or line["outcome"] == LineOutcome.DUPLICATE:
            continue
        into = totals.setdefault(line["currency"], {"settled": 0, "refunded": 0, "fee": 0, "tax": 0, "net": 0})
        payment = line["kind"] == "payment"
        into["settled" if payment else "refunded"] += line["amount_minor"]
        into["fee"] += line["fee_minor"]
        into["tax"] += line["tax_minor"]
        into["net"] += (1 if payment else -1) * line["amount_minor"] - line["fee_minor"] - line["tax_minor"]
    if totals != fields["totals"]:
        replay.find("", row, f"{name}: its totals are not the sum of its lines")
    state.outcomes = [line["outcome"] for line in lines]
    state.payments = [line["payment_id"] for line in lines]


def check_resolutions(replay: Findings, purchased: set[str]) -> None:
    """Every resolved line's payment was credited by a purchase under its id (``purchased``: those ids)."""
    for run_id, state in replay.reconciliations.items():
        for index, (position, payment_id) in state.resolved.items():
            if payment_id not in purchased:
                replay.find("", (position, "LineResolved"), f"reconciliation {run_id}: line {index} was resolved "
                                                            f"but no purchase credited payment {payment_id}")


def journal_entry(row: Row, fields: dict[str, Any]) -> dict[str, Any]:
    """A run or a resolution as a journal entry: one zero line saying what, who and what it came to."""
    if row.kind == "ReconciliationRecorded":
        counts = ", ".join(f"{n} {outcome}" for outcome, n in fields["counts"].items() if n) or "no lines"
        memo = (f"settlement report {fields['file_name']} ({fields['file_format']}, sha256 "
                f"{fields['sha256'][:12]}) reconciled by {fields['by']}: {counts}")
    else:
        memo = (f"line {fields['index']} resolved by {fields['by']}: payment {fields['payment_id']} credited to "
                f"{fields['user_id']} as {fields['pack_id']}")
    return {"position": row.position, "at": datetime.fromisoformat(fields["timestamp"]).isoformat(),
            "event": row.kind, "user_id": fields["by"],
            "lines": [{"account": f"reconciliation:{row.originator_id}", "credits": 0, "money_minor": 0,
                       "currency": "", "memo": memo[:200]}]}
