"""`studio-ledger audit reconcile FILE`: reconcile a payment provider's settlement report against the ledger,
record the run (once per file) and print its lines as a table, CSV or JSON."""

from __future__ import annotations

import csv
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from api.audit_cli import _ledger, audit_app
from ledger.reconciliation import Reconciliation
from service.reconciliation import spreadsheet_safe
from service.settlement_files import FORMATS, MAX_FILE_BYTES, SettlementFileError
from service.settlement_matching import Rules

LINE_COLUMNS = ("line", "outcome", "payment_id", "kind", "amount_minor", "currency", "ledger_minor", "settled_at",
                "paid_at", "fee_minor", "tax_minor", "user_id", "overdue", "detail")
OUTPUTS = ("table", "csv", "json")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@audit_app.command()
def reconcile(file: Annotated[Path, typer.Argument(help="The provider's settlement report (CSV).")],
              file_format: str = typer.Option("generic", "--format", help="generic, razorpay or stripe"),
              output: str = typer.Option("table", "--output", help="table, csv or json"),
              by: str = typer.Option("", "--by", help="Who imports it (default: cli:<login name>)."),
              wait: float = typer.Option(10.0, "--wait", min=0, max=600,
                                         help="Seconds to wait for the projections to reach the ledger's head."),
              progress: bool = typer.Option(False, "--progress/--no-progress", hidden=True)) -> None:
    """Match a settlement report's lines with the ledger's payments and record the run; the same file is one run."""
    if file_format not in FORMATS:
        raise _fail(f"unknown format {file_format!r}: use one of {', '.join(FORMATS)}")
    if output not in OUTPUTS:
        raise _fail(f"unknown output {output!r}: use one of {', '.join(OUTPUTS)}")
    data = _read(file)
    from projections import queries
    from projections.reconciliations import Reconciliations
    from service.bootstrap import build_read_engine
    from service.reconciliation import import_report
    from service.settings.reconcile import ReconcileSettings

    settings = ReconcileSettings()
    engine = build_read_engine(pool_size=1)
    try:
        with _ledger() as app:
            head = app.recorder.max_notification_id() or 0
            deadline = time.monotonic() + wait
            while True:
                with engine.connect() as conn:
                    reached = queries.tracked_positions(conn).get(Reconciliations.name, 0)
                if reached >= head or time.monotonic() >= deadline:
                    break
                time.sleep(0.2)
            if reached < head:
                raise _fail(f"the reconciliations projection is at position {reached} of {head}: run the projector "
                            "(studio-ledger serve or studio-ledger projector) and try again", 1)
            try:
                imported = import_report(app, engine.connect, data=data, file_name=file.name, file_format=file_format,
                                         by=by or f"cli:{getpass.getuser()}", at=datetime.now(UTC),
                                         rules=Rules(window=settings.window(), tolerance=settings.tolerance()))
            except SettlementFileError as error:
                raise _fail(f"{file.name}: {error}") from None
    finally:
        engine.dispose()
    _print(imported.run, str(imported.run_id), imported.repeated, imported.position, output)


def _read(file: Path) -> bytes:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail(f"{file.name}: the file is {size} bytes, more than {MAX_FILE_BYTES}: split the report")
        return file.read_bytes()
    except OSError as error:
        raise _fail(f"cannot read {file}: {error.strerror or error}") from None


def run_summary(run: Reconciliation, run_id: str, repeated: bool, position: int) -> dict[str, Any]:
    """A run as the JSON output and the API show it, without its lines."""
    return {"run_id": run_id, "repeated": repeated, "position": position, "sha256": run.sha256,
            "file_name": run.file_name, "format": run.file_format, "by": run.by,
            "recorded_at": run.created_on.isoformat(),
            "settled_from": run.settled_from.isoformat() if run.settled_from else None,
            "settled_to": run.settled_to.isoformat() if run.settled_to else None,
            "counts": run.counts, "skipped": run.skipped,
            "overdue": sum(1 for line in run.lines if line["overdue"]), "totals": run.totals,
            "resolved": sorted(run.resolved)}


def _print(run: Reconciliation, run_id: str, repeated: bool, position: int, output: str) -> None:
    lines = [{**line, "index": i} for i, line in enumerate(run.lines)]
    if output == "json":
        typer.echo(json.dumps({**run_summary(run, run_id, repeated, position), "lines": lines}, indent=2))
        return
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=["index", *LINE_COLUMNS], extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in line.items()} for line in lines)
        return
    said = "already reconciled as" if repeated else "recorded as"
    typer.echo(f"{run.file_name} ({run.file_format}, sha256 {run.sha256[:12]}): {said} run {run_id} "
               f"at position {position}")
    typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in run.counts.items())
               + (f" ({run.skipped} rows of other kinds skipped)" if run.skipped else ""))
    for currency, totals in sorted(run.totals.items()):
        typer.echo(f"{currency}: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    columns = ["index", *LINE_COLUMNS[:7], "overdue", "detail"]
    cells = [{c: "" if line.get(c) is None else str(line.get(c)) for c in columns} for line in lines]
    widths = {c: max([len(c), *(len(r[c]) for r in cells)]) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in cells:
        typer.echo("  ".join(r[c].ljust(widths[c]) for c in columns).rstrip())
