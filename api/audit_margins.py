"""`studio-ledger audit margins`: revenue recognised, provider cost and credits consumed per template, provider
and day, as of any ledger position, in the reporting currency."""

from __future__ import annotations

import json

import typer
from pydantic import ValidationError

from api.audit_cli import _check_format, _ledger, _table, audit_app
from api.audit_revenue import day_of
from service.reconciliation import spreadsheet_safe


@audit_app.command()
def margins(start: str = typer.Option(..., "--from", help="The first day (inclusive), YYYY-MM-DD, in UTC."),
            end: str = typer.Option(..., "--to", help="The day after the last (exclusive), YYYY-MM-DD, in UTC."),
            fmt: str = typer.Option("table", "--format", help="table, csv or json"),
            position: int | None = typer.Option(None, "--as-of-position", min=0,
                                                help="Count only the events up to this ledger position.")) -> None:
    """Per day, template and provider, and per template: generations, charged calls, credits consumed, revenue
    recognised, provider cost and margin, converted at STUDIO_FINANCE_USD_RATES; how many costs are unknown."""
    _check_format(fmt, ("table", "csv", "json"))
    first, after = day_of(start, "--from"), day_of(end, "--to")
    from projections.finance.margins import COLUMNS, Rates, margins_report
    from projections.finance.revenue import check_range
    from service.settings.finance import FinanceSettings

    try:
        check_range(first, after)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--from/--to") from None
    try:
        settings = FinanceSettings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = ".".join(str(p) for p in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        raise typer.BadParameter(f"STUDIO_{name}: {message}" if name else message) from None
    rates = Rates(settings.finance_currency, settings.usd_rates())
    with _ledger() as app:
        try:
            report = margins_report(app, first, after, rates, position=position)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--as-of-position") from None
    if fmt == "json":
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    rows = [{k: spreadsheet_safe(v) for k, v in r.items()} for r in [*report.days, *report.templates, report.total]]
    if fmt == "table":
        rate = rates.rate(rates.currency)
        typer.echo(f"as of ledger position {report.position}; money in minor units of {rates.currency} "
                   f"(1 USD = {rate} {rates.currency}); provider cost also in micro-dollars")
    _table(rows, list(COLUMNS), csv_out=fmt == "csv")
    unknown = report.total["unknown_cost"]
    if fmt == "table" and unknown:
        many = unknown != 1
        typer.echo(f"{unknown} generation{'s have' if many else ' has'} no recorded provider cost (recorded before "
                   f"costs were kept, or by a worker that did not report one): {'their' if many else 'its'} cost "
                   "is not in the margin")
