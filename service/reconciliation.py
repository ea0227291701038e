"""Reconciliation against a payment provider's settlement report: import one (read, match, record the run once per
file), and resolve a "paid but no credits" line through the normal purchase command under the same payment id."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection

from ledger import Ledger, Money, Outcome, UnknownReference
from ledger.event_store.positions import position_of
from ledger.reconciliation import LineOutcome, Reconciliation, reconciliation_id
from projections import reconciliations
from service.errors import ServiceError
from service.policy import Policy
from service.settlement_files import read_report
from service.settlement_matching import Paid, Rules, match

Connect = Callable[[], AbstractContextManager[Connection]]


class ResolveRefused(ServiceError):
    """A resolution the line cannot take: a pack that does not cost what the provider settled, or no such pack."""

    code = "resolution-refused"


@dataclass(frozen=True)
class Imported:
    """A recorded run: its id, whether this import repeated an earlier one, and the ledger position."""

    run_id: UUID
    repeated: bool
    position: int
    run: Reconciliation


def import_report(ledger: Ledger, connect: Connect, *, data: bytes, file_name: str, file_format: str, by: str,
                  at: datetime, rules: Rules) -> Imported:
    """Reconcile a report and record the run; the same file (by SHA-256) gives back the run first recorded."""
    sha256 = hashlib.sha256(data).hexdigest()
    run_id = reconciliation_id(sha256)
    found = ledger.load(run_id)
    if isinstance(found, Reconciliation):
        return Imported(run_id, True, _position(ledger, found), found)
    report = read_report(data, file_format)
    ids = {line.payment_id for line in report.lines if line.payment_id}
    times = [line.settled_at for line in report.lines]
    known: list[Paid] = []
    if times:
        with connect() as conn:
            rows = reconciliations.payments(conn, ids=ids, paid_from=min(times) - rules.window - rules.tolerance,
                                            paid_to=max(times) + rules.tolerance)
        known = [Paid(r["payment_id"], r["source"], r["user_id"] or "", r["price_minor"], r["currency"], r["paid_at"],
                      r["refund_minor"], r["refunded_at"]) for r in rows]
    matched = match(report.lines, known, rules)
    outcome = ledger.record_reconciliation(run={
        "sha256": sha256, "file_name": file_name, "file_format": file_format, "by": by, "lines": matched.lines,
        "totals": matched.totals, "settled_from": matched.settled_from, "settled_to": matched.settled_to,
        "skipped": report.skipped}, at=at)
    stored = ledger.load(run_id)
    assert isinstance(stored, Reconciliation)
    return Imported(run_id, outcome.repeated, outcome.position, stored)


def _position(ledger: Ledger, run: Reconciliation) -> int:
    return position_of(ledger.recorder, run.id, run.version) or 0


def resolve_line(ledger: Ledger, policy: Policy, *, run_id: UUID, index: int, user_id: str, pack_id: str, by: str,
                 at: datetime) -> Outcome:
    """Credit a paid-but-no-credits line's payment to ``user_id`` as ``pack_id`` (which must cost what the provider
    settled) through the idempotent purchase command, then note the resolution on the run."""
    run = ledger.load(run_id)
    if not isinstance(run, Reconciliation):
        raise UnknownReference(f"no reconciliation {run_id}")
    if not 0 <= index < len(run.lines):
        raise ResolveRefused(f"reconciliation {run_id} has no line {index}")
    line: dict[str, Any] = run.lines[index]
    if line["outcome"] != LineOutcome.PAID_NO_CREDITS:
        raise ResolveRefused(f"line {index} is {line['outcome']}: only a paid_no_credits line is resolved by "
                             "crediting its payment")
    if not line["payment_id"]:
        raise ResolveRefused(f"line {index} names no payment id: the purchase command needs one")
    pack = policy.pack(pack_id)
    if pack is None:
        raise ResolveRefused(f"no pack {pack_id!r} is for sale")
    if (pack.price_minor, pack.currency) != (line["amount_minor"], line["currency"]):
        raise ResolveRefused(f"pack {pack.id} costs {pack.price_minor} {pack.currency}; the provider settled "
                             f"{line['amount_minor']} {line['currency']}")
    ledger.purchase(user_id=user_id, payment_id=line["payment_id"], pack_id=pack.id, amount=pack.credits,
                    price=Money(line["amount_minor"], line["currency"]), at=at)
    return ledger.resolve_reconciliation_line(run_id=run_id, index=index, user_id=user_id, pack_id=pack.id, by=by,
                                              at=at)


def spreadsheet_safe(value: Any) -> Any:
    """A cell for a CSV export an accountant opens in a spreadsheet: text that would start a formula (``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return: a payment id or detail from a provider's file) is quoted with ``'``."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
