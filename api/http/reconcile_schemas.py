"""Bodies of the reconciliation routes: a run, its lines, and a line's resolution (``api/http/schemas.py`` holds
the rest; these live apart to keep each module small)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from service.messages import UserId

Outcome = Literal["matched", "amount_mismatch", "paid_no_credits", "credits_not_settled", "duplicate",
                  "refund_mismatch"]


class ReconciliationPublic(BaseModel):
    """A reconciliation run: the file (by SHA-256), who imported it and when, what its lines came to, and the
    totals per currency (minor units: settled, refunded, fee, tax, net)."""

    run_id: UUID
    sha256: str
    file_name: str
    format: Literal["generic", "razorpay", "stripe"]
    imported_by: str
    recorded_at: datetime
    settled_from: datetime | None
    settled_to: datetime | None
    counts: dict[Outcome, int]
    totals: dict[str, dict[str, int]]
    lines: int
    skipped: int = Field(description="rows of kinds reconciliation does not look at (payouts, adjustments)")
    overdue: int = Field(description="credits_not_settled lines past the settlement window: each a reconciliation "
                                     "alert, once per payment")
    resolved: int = Field(description="paid_no_credits lines credited since")
    position: int
    repeated: bool = Field(default=False, description="the same file was reconciled before: this is that run")


class ReconciliationLinePublic(BaseModel):
    """One line of a run: a line of the report (``line``: its line in the file) or, with no line, a payment of the
    ledger the report should have settled."""

    index: int
    line: int | None
    outcome: Outcome
    payment_id: str
    kind: Literal["payment", "refund"]
    amount_minor: int | None = Field(description="what the provider settled or refunded")
    currency: str
    settled_at: datetime | None
    fee_minor: int
    tax_minor: int
    user_id: str = Field(description="the learner credited for the payment, if the ledger has it")
    ledger_minor: int | None = Field(description="what the ledger credited (or refunded) for it")
    paid_at: datetime | None
    overdue: bool
    detail: str
    resolved_by: str | None
    resolved_at: datetime | None


class ReconciliationLinesPage(BaseModel):
    """A page of a run's lines, and where the next starts (``after``), or None at the end."""

    lines: list[ReconciliationLinePublic]
    next_after: int | None


class LineResolve(BaseModel):
    """Credit a paid-but-no-credits line's payment: to whom, as which pack (it must cost what was settled)."""

    user_id: UserId
    pack_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class LineResolved(BaseModel):
    """A line resolved by the purchase command under its payment id (``repeated``: it already was)."""

    run_id: UUID
    index: int
    payment_id: str
    user_id: str
    position: int
    repeated: bool
