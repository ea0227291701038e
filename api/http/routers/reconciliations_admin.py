"""Finance's reconciliation routes: import a payment provider's settlement report, list the runs, read a run's
lines (paged, by outcome, or as CSV), and resolve a paid-but-no-credits line through the purchase command.

The `finance` role reconciles and nothing else (no wallet, no template); `admin` may too. A report is matched only
once the projections reached the ledger's head (a stale match would be recorded for good: 503 until then).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio.to_thread
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import RowMapping

from api.http.deps import CommandsDep, FinanceUser, IdempotencyKey, ServiceDep, Visible
from api.http.problems import Problem
from api.http.reconcile_schemas import (
    LineResolve,
    LineResolved,
    Outcome,
    ReconciliationLinePublic,
    ReconciliationLinesPage,
    ReconciliationPublic,
)
from api.http.schemas import problems
from projections import reconciliations
from service.commands import Answer, caller
from service.container import Service
from service.reconciliation import ResolveRefused, import_report, resolve_line, spreadsheet_safe
from service.revenue_report import ReportsBusy, report_slot
from service.settings.reconcile import ReconcileSettings
from service.settlement_files import MAX_FILE_BYTES, SettlementFileError
from service.settlement_matching import Rules

router = APIRouter(prefix="/v1/admin", tags=["admin-finance"])
ReportFile = Annotated[UploadFile, File(description="The provider's settlement report as CSV (UTF-8), at most "
                                                    "16 MiB and 20,000 rows")]
FileFormat = Literal["generic", "razorpay", "stripe"]
RunId = Annotated[UUID, Path(description="the run's id (from its file's SHA-256)")]
CSV_COLUMNS = ("index", "line", "outcome", "payment_id", "kind", "amount_minor", "currency", "settled_at", "fee_minor",
               "tax_minor", "user_id", "ledger_minor", "paid_at", "overdue", "detail", "resolved_by", "resolved_at")


@functools.cache
def _rules() -> Rules:
    settings = ReconcileSettings()
    return Rules(window=settings.window(), tolerance=settings.tolerance())


def _public(row: RowMapping, *, repeated: bool = False) -> ReconciliationPublic:
    return ReconciliationPublic(run_id=row["run_id"], sha256=row["sha256"], file_name=row["file_name"],
                                format=row["file_format"], imported_by=row["imported_by"],
                                recorded_at=row["recorded_at"], settled_from=row["settled_from"],
                                settled_to=row["settled_to"], counts=row["counts"], totals=row["totals"],
                                lines=row["lines"], skipped=row["skipped"], overdue=row["overdue"],
                                resolved=row["resolved"], position=row["position"], repeated=repeated)


def _line(row: RowMapping) -> ReconciliationLinePublic:
    return ReconciliationLinePublic(index=row["idx"], **{k: row[k] for k in CSV_COLUMNS[1:]})


def _found(service: Service, run_id: UUID) -> RowMapping:
    with service.reads.connect() as conn:
        row = reconciliations.run(conn, run_id)
    if row is None:
        raise Problem(404, "not-found", "Not found", f"no reconciliation {run_id}")
    return row


@router.post("/reconciliations", status_code=201, response_model=ReconciliationPublic,
             responses=problems(401, 403, 409, 422, 503), operation_id="reconcile_settlement_report")
async def create_reconciliation(file: ReportFile, finance: FinanceUser, key: IdempotencyKey, service: ServiceDep,
                                commands: CommandsDep,
                                file_format: Annotated[FileFormat, Form(alias="format")] = "generic") -> JSONResponse:
    """Reconcile a settlement report (generic CSV, Razorpay's settlement reconciliation report or Stripe's itemized
    balance-transaction export) against the ledger and record the run; the same file is the same run."""
    data = await file.read(MAX_FILE_BYTES + 1)
    request = {"route": "POST /v1/admin/reconciliations", "sha256": hashlib.sha256(data).hexdigest(),
               "format": file_format}
    name = (file.filename or "report.csv")[-200:]

    async def answer() -> Answer:
        await service.settle()  # every payment the report may name is in the read tables
        def reconcile() -> Any:  # a finance report's slot: a burst of imports cannot take every worker thread
            with report_slot():
                return import_report(service.ledger, service.reads.connect, data=data, file_name=name,
                                     file_format=file_format, by=finance.user_id, at=service.clock(), rules=_rules())

        try:
            imported = await anyio.to_thread.run_sync(reconcile)
        except SettlementFileError as error:
            raise Problem(422, error.code, "Invalid settlement report", str(error), field="file") from None
        except ReportsBusy as error:
            raise Problem(503, "reports-busy", "Reports busy", str(error), headers={"Retry-After": "5"}) from None
        service.saw(imported.position)
        await service.settle()
        row = await anyio.to_thread.run_sync(_found, service, imported.run_id)
        return 201, _public(row, repeated=imported.repeated).model_dump(mode="json")

    status, payload = await commands.once_async(caller(finance.user_id), key, request, answer)
    return JSONResponse(payload, status_code=status)


@router.get("/reconciliations", responses=problems(401, 403, 409, 503), operation_id="list_reconciliations")
def list_reconciliations(finance: FinanceUser, service: ServiceDep, position: Visible,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50,
                         before: Annotated[int | None, Query(ge=1, le=2**62, description="the position of the last "
                                                             "run of the previous page")] = None
                         ) -> list[ReconciliationPublic]:
    """The reconciliation runs, newest first."""
    with service.reads.connect() as conn:
        rows = reconciliations.runs(conn, limit=limit, before=before)
    return [_public(row) for row in rows]


@router.get("/reconciliations/{run_id}", responses=problems(401, 403, 404, 409, 422, 503),
            operation_id="get_reconciliation")
def get_reconciliation(run_id: RunId, finance: FinanceUser, service: ServiceDep,
                       position: Visible) -> ReconciliationPublic:
    """One run: its file, who imported it, its counts and totals."""
    return _public(_found(service, run_id))


@router.get("/reconciliations/{run_id}/lines", responses={**problems(401, 403, 404, 409, 422, 503), 200: {
    "content": {"text/csv": {"schema": {"type": "string"}}}, "description": "A page of lines (JSON), or them all "
    "(CSV)"}}, operation_id="list_reconciliation_lines", response_model=ReconciliationLinesPage)
def list_lines(run_id: RunId, request: Request, finance: FinanceUser, service: ServiceDep, position: Visible,
               outcome: Annotated[list[Outcome] | None, Query(description="only lines of these outcomes")] = None,
               unmatched: Annotated[bool, Query(description="only lines that are not matched")] = False,
               after: Annotated[int, Query(ge=-1, le=10**6, description="`next_after` of the previous page")] = -1,
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               format: Annotated[Literal["json", "csv"] | None, Query(
                   description="csv: every line asked for, as CSV (or send Accept: text/csv)")] = None) -> Any:
    """A run's lines in order, paged (JSON) or all of them as CSV, by outcome."""
    _found(service, run_id)
    as_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    with service.reads.connect() as conn:
        rows = reconciliations.lines(conn, run_id, outcomes=outcome or (), unmatched=unmatched,
                                     after=-1 if as_csv else after, limit=None if as_csv else limit + 1)
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([spreadsheet_safe(row["idx" if c == "index" else c]) for c in CSV_COLUMNS])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{run_id}.csv"'})
    page = [_line(r) for r in rows[:limit]]
    return ReconciliationLinesPage(lines=page, next_after=page[-1].index if len(rows) > limit else None)


@router.post("/reconciliations/{run_id}/lines/{index}/resolve", responses=problems(401, 403, 404, 409, 422),
             operation_id="resolve_reconciliation_line")
def resolve(run_id: RunId, index: Annotated[int, Path(ge=0, le=10**6)], body: LineResolve, finance: FinanceUser,
            key: IdempotencyKey, service: ServiceDep, commands: CommandsDep) -> JSONResponse:
    """Credit a paid-but-no-credits line's payment to a learner as a pack costing what the provider settled,
    through the normal idempotent purchase command under the same payment id; the run itself is never edited."""
    request = {"route": f"POST /v1/admin/reconciliations/{run_id}/lines/{index}/resolve",
               "body": body.model_dump(mode="json")}

    def answer() -> Answer:
        try:
            outcome = commands.run("resolve_reconciliation_line", lambda: resolve_line(
                service.ledger, service.policy, run_id=run_id, index=index, user_id=body.user_id,
                pack_id=body.pack_id, by=finance.user_id, at=service.clock()))
        except ResolveRefused as error:
            raise Problem(409, error.code, "Cannot resolve this line", str(error)) from None
        run = service.ledger.load(run_id)
        payment_id = getattr(run, "lines", [{}])[index].get("payment_id", "")
        return 200, LineResolved(run_id=run_id, index=index, payment_id=payment_id, user_id=body.user_id,
                                 position=outcome.position, repeated=outcome.repeated).model_dump(mode="json")

    status, payload = commands.once(caller(finance.user_id), key, request, answer)
    return JSONResponse(payload, status_code=status)
