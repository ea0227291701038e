"""The Reconciliation aggregate: one provider settlement report matched against the ledger's payments, recorded
once per file (its id is made from the file's SHA-256), with who imported it, when, what each line came to, and
the lines an operator later resolved through the normal purchase command.

The matching itself is the application layer's (``service.reconciliation``): the ledger records its result, so
the run is part of the log the audit replays and cannot be edited afterwards, only added to.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidCommand, InvalidTransition, UnknownReference
from ledger.names import IdKind, derived_id
from ledger.unit import Unit


class LineOutcome(StrEnum):
    """What one line of a report (or one payment the report lacks) came to."""

    MATCHED = "matched"
    AMOUNT_MISMATCH = "amount_mismatch"
    PAID_NO_CREDITS = "paid_no_credits"
    CREDITS_NOT_SETTLED = "credits_not_settled"
    DUPLICATE = "duplicate"
    REFUND_MISMATCH = "refund_mismatch"


OUTCOMES: tuple[str, ...] = tuple(o.value for o in LineOutcome)


def reconciliation_id(sha256: str) -> UUID:
    """The id of the run of the file whose SHA-256 is ``sha256``: the same file is one run, however often imported."""
    return derived_id(IdKind.RECONCILIATION, sha256)


def tally(lines: list[dict[str, Any]]) -> dict[str, int]:
    """How many lines came to each outcome, every outcome present."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for line in lines:
        counts[line["outcome"]] += 1
    return counts


class Reconciliation(Aggregate):
    """One settlement report reconciled: who imported it, its digest, its lines and their outcomes."""

    class ReconciliationRecorded(Aggregate.Created):
        sha256: str
        file_name: str
        file_format: str
        by: str
        counts: dict[str, int]
        totals: dict[str, dict[str, int]]  # currency -> settled, refunded, fee, tax, net (minor units)
        lines: list[dict[str, Any]]
        settled_from: datetime | None
        settled_to: datetime | None
        skipped: int = 0  # rows of kinds reconciliation does not look at (payouts, adjustments)

    class LineResolved(Aggregate.Event):
        """A ``paid_no_credits`` line credited through the purchase command under the same payment id."""

        index: int
        payment_id: str
        user_id: str
        pack_id: str
        by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.resolved[self.index] = self.by

    def __init__(self, sha256: str, file_name: str, file_format: str, by: str, counts: dict[str, int],
                 totals: dict[str, dict[str, int]], lines: list[dict[str, Any]], settled_from: datetime | None,
                 settled_to: datetime | None, skipped: int = 0) -> None:
        self.sha256 = sha256
        self.file_name = file_name
        self.file_format = file_format
        self.by = by
        self.counts = counts
        self.totals = totals
        self.lines = lines
        self.settled_from = settled_from
        self.settled_to = settled_to
        self.skipped = skipped
        self.resolved: dict[int, str] = {}

    @classmethod
    def record(cls, *, sha256: str, file_name: str, file_format: str, by: str, lines: list[dict[str, Any]],
               totals: dict[str, dict[str, int]], settled_from: datetime | None, settled_to: datetime | None,
               at: datetime, skipped: int = 0) -> Reconciliation:
        """Record a report's reconciliation; its counts are the tally of its lines."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidCommand(f"a reconciliation names its file by SHA-256 in hex, got {sha256!r}")
        if not by.strip():
            raise InvalidCommand("a reconciliation must name who imported it")
        return cls._create(cls.ReconciliationRecorded, id=reconciliation_id(sha256), sha256=sha256,
                           file_name=file_name[:200], file_format=file_format, by=by, counts=tally(lines),
                           totals=totals, lines=lines, settled_from=settled_from, settled_to=settled_to,
                           skipped=skipped, timestamp=at)

    def resolve(self, *, index: int, user_id: str, pack_id: str, by: str, at: datetime) -> bool:
        """Note that line ``index`` (paid but no credits) was credited; False when it already was."""
        if not 0 <= index < len(self.lines):
            raise InvalidCommand(f"reconciliation {self.id} has no line {index}")
        line = self.lines[index]
        if line["outcome"] != LineOutcome.PAID_NO_CREDITS:
            raise InvalidTransition(f"line {index} is {line['outcome']}: only a paid_no_credits line is resolved "
                                    "by crediting its payment")
        if index in self.resolved:
            return False
        self.trigger_event(self.LineResolved, index=index, payment_id=line["payment_id"], user_id=user_id,
                           pack_id=pack_id, by=by, timestamp=max(at, self.modified_on))
        return True


def record_run(unit: Unit, fields: dict[str, Any], at: datetime) -> tuple[UUID, bool]:
    """Record a reconciliation run once per file; its id, and whether it is new (a repeat changes nothing)."""
    run_id = reconciliation_id(fields["sha256"])
    found = unit.get(run_id, creating=True)
    if isinstance(found, Reconciliation):
        unit.repeat_of(run_id, found.version)
        return run_id, False
    unit.add(Reconciliation.record(**fields, at=at))
    return run_id, True


def resolve_line(unit: Unit, run_id: UUID, index: int, user_id: str, pack_id: str, by: str, at: datetime) -> bool:
    """Note a line's resolution on its run; whether it was new."""
    run = unit.get(run_id)
    if not isinstance(run, Reconciliation):
        raise UnknownReference(f"no reconciliation {run_id}")
    if run.resolve(index=index, user_id=user_id, pack_id=pack_id, by=by, at=at):
        return True
    unit.repeat_of(run_id, run.version)
    return False
