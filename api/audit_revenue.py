"""`studio-ledger audit revenue`: revenue, liability and breakage per day and month, as of any position."""

from __future__ import annotations

import json
from datetime import date

import typer

from api.audit_cli import PROGRESS, _check_format, _ledger, _table, audit_app


def day_of(text: str, option: str) -> date:
    """A calendar day written YYYY-MM-DD; a clear error naming ``option`` for anything else."""
    from projections.finance.revenue import parse_day

    try:
        return parse_day(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


@audit_app.command()
def revenue(start: str = typer.Option(..., "--from", help="The first day (inclusive), YYYY-MM-DD, in UTC."),
            end: str = typer.Option(..., "--to", help="The day after the last (exclusive), YYYY-MM-DD, in UTC."),
            fmt: str = typer.Option("table", "--format", help="table, csv or json"),
            position: int | None = typer.Option(None, "--as-of-position", min=0,
                                                help="Count only the events up to this ledger position."),
            progress: bool = PROGRESS) -> None:
    """Deferred revenue, sales, revenue recognised, breakage and refunds per day and month and currency, each
    row proving opening + sales - recognised - breakage - refunds - clawbacks = closing; exit 1 if one does not."""
    _check_format(fmt, ("table", "csv", "json"))
    first, after = day_of(start, "--from"), day_of(end, "--to")
    from projections.finance.reading import revenue_report
    from projections.finance.revenue import COLUMNS, check_range

    try:
        check_range(first, after)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--from/--to") from None
    with _ledger() as app:
        try:
            report = revenue_report(app, first, after, position=position, progress=progress)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--as-of-position") from None
    if fmt == "json":
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        if fmt == "table":
            typer.echo(f"as of ledger position {report.position}; money in minor units of each currency")
        _table([*report.days, *report.months], list(COLUMNS), csv_out=fmt == "csv")
        if fmt == "table":
            typer.echo("OK: every row ties out" if report.ok else "FAILED: a row does not tie out (difference)")
    raise typer.Exit(0 if report.ok else 1)
