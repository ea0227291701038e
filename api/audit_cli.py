"""`studio-ledger audit ...`: verify the ledger, balances as of an instant, the journal, a summary.

The audit itself (replay, invariants, reports) is in ``projections.audit``; this is its command line."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import typer
from eventsourcing.postgres import PostgresApplicationRecorder

from ledger import Ledger
from projections.audit.diff import ProjectionDiff
from projections.audit.reports import SUMMARY_COLUMNS, JournalWindow, Summary, balance_rows, utc
from projections.audit.verify import run_verify
from service.settings.store import StoreSettings

audit_app = typer.Typer(help="Finance audit: replay the whole event store and prove it.", no_args_is_help=True)
PROGRESS = typer.Option(sys.stderr.isatty(), "--progress/--no-progress", help="Show a progress bar on stderr.")


@contextmanager
def _ledger() -> Iterator[Ledger]:
    """The ledger the audit replays (no group commit: it only reads), refusing a store with nothing to audit."""
    from service.bootstrap import build_ledger  # the process's whole bootstrap, only once a command runs

    settings = StoreSettings(group_commit=False)
    if settings.backend == "memory":
        raise typer.BadParameter("the memory store keeps nothing between processes: audit a sqlite or postgres "
                                 "store", param_hint="STUDIO_STORE")
    if settings.backend == "sqlite" and not (settings.data_dir / "events.db").exists():
        raise typer.BadParameter(f"no event store at {settings.data_dir / 'events.db'}", param_hint="STUDIO_DATA_DIR")
    ledger = build_ledger(settings)
    try:
        yield ledger
    finally:
        ledger.close()


def _read_tables() -> ProjectionDiff:
    """The read tables the replay is compared with."""
    from service.bootstrap import build_read_engine

    return ProjectionDiff(build_read_engine(pool_size=2))


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return utc(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


@audit_app.command()
def verify(as_json: bool = typer.Option(False, "--json", help="Write the report as JSON on stdout."),
           projections: bool = typer.Option(True, "--projections/--no-projections",
                                            help="Also compare the read tables with the replay."),
           workers: int = typer.Option(0, "--workers", min=0, max=64,
                                       help="Processes to split the wallets across (PostgreSQL, --no-projections); "
                                            "0: one per core there, else 1."),
           progress: bool = PROGRESS) -> None:
    """Replay every event and check chains, invariants, the journal and the read tables; exit 1 on a finding."""
    if workers > 1 and projections:
        raise typer.BadParameter("several workers need --no-projections", param_hint="--workers")
    with _ledger() as app:
        if workers == 0:
            splittable = not projections and isinstance(app.recorder, PostgresApplicationRecorder)
            workers = min(os.cpu_count() or 1, 8) if splittable else 1
        try:
            report = run_verify(app, projections=_read_tables() if projections else None, progress=progress,
                                workers=workers)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--workers") from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(report.text())
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command()
def balances(as_of: str = typer.Option(..., "--as-of", help="An ISO 8601 instant with a time zone."),
             fmt: str = typer.Option("table", "--format", help="table, csv or json"),
             progress: bool = PROGRESS) -> None:
    """Every wallet's available, held and by-source credits at an instant, from the events alone."""
    at = _instant(as_of, "--as-of")
    assert at is not None
    _check_format(fmt, ("table", "csv", "json"))
    from projections.audit.replay import replay

    with _ledger() as app:
        rows = balance_rows(replay(app, until=at, progress=progress), at)
    if fmt == "json":
        typer.echo(json.dumps({"as_of": at.isoformat(), "wallets": rows}, indent=2))
        return
    sources = sorted({s for r in rows for s in r["by_source"]})
    flat = [{"user_id": r["user_id"], "available": r["available"], "held": r["held"],
             **{s: r["by_source"].get(s, 0) for s in sources}} for r in rows]
    _table(flat, ["user_id", "available", "held", *sources], csv_out=fmt == "csv")


@audit_app.command()
def journal(start: str | None = typer.Option(None, "--from", help="First instant (inclusive), ISO 8601."),
            end: str | None = typer.Option(None, "--to", help="Last instant (exclusive), ISO 8601."),
            fmt: str = typer.Option("csv", "--format", help="csv, json or table"),
            progress: bool = PROGRESS) -> None:
    """The double-entry journal of the events in [from, to): one line per posting; every entry balances."""
    _check_format(fmt, ("csv", "json", "table"))
    window = JournalWindow(_instant(start, "--from"), _instant(end, "--to"), _writer(fmt))
    from projections.audit.replay import replay

    with _ledger() as app:
        replay(app, on_entry=window, on_template=window.template, on_trust=window.trust, progress=progress)
    if fmt == "json":
        typer.echo("]" if window.entries else "[]")


@audit_app.command()
def summary(by: str = typer.Option("all", "--by", help="all, day, month or year"),
            fmt: str = typer.Option("table", "--format", help="table, csv or json"),
            progress: bool = PROGRESS) -> None:
    """Outstanding liability, revenue, breakage, bonus credits, refunds and clawbacks per period."""
    _check_format(fmt, ("table", "csv", "json"))
    try:
        totals = Summary(by)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--by") from None
    from projections.audit.replay import replay

    with _ledger() as app:
        replay(app, on_entry=totals, progress=progress)
    rows = totals.rows()
    if fmt == "json":
        typer.echo(json.dumps({"by": by, "periods": rows}, indent=2))
        return
    flat = [{k: _cell(v) for k, v in r.items()} for r in rows]
    _table(flat, list(SUMMARY_COLUMNS), csv_out=fmt == "csv")


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise typer.BadParameter(f"unknown format {fmt!r}: use one of {', '.join(allowed)}", param_hint="--format")


def _cell(value: Any) -> Any:
    if isinstance(value, dict):  # money by currency; none at all is 0
        return " ".join(f"{k}:{v}" for k, v in sorted(value.items())) or 0
    return value


def _writer(fmt: str) -> Any:
    out = sys.stdout
    if fmt == "csv":
        lines = csv.writer(out)
        lines.writerow(["position", "at", "event", "user_id", "account", "credits", "money_minor", "currency", "memo"])

        def write_csv(entry: dict[str, Any]) -> None:
            for p in entry["lines"]:
                lines.writerow([entry["position"], entry["at"], entry["event"], entry["user_id"], p["account"],
                                p["credits"], p["money_minor"], p["currency"], p["memo"]])
        return write_csv
    if fmt == "table":
        return _journal_table()
    first = [True]

    def write_json(entry: dict[str, Any]) -> None:
        out.write(("[\n" if first[0] else ",\n") + json.dumps(entry))
        first[0] = False
    return write_json


# The journal can be long: its table is written as it comes, in columns of these widths (a longer value
# widens its own cell only), rather than held to measure.
JOURNAL_COLUMNS = (("position", 8), ("at", 25), ("event", 20), ("user_id", 14), ("account", 34), ("credits", 8),
                   ("money_minor", 11), ("currency", 8), ("memo", 0))


def _journal_table() -> Any:
    right = {"position", "credits", "money_minor"}

    def line(cells: list[Any]) -> str:
        return "  ".join((str(v).rjust(w) if name in right else str(v).ljust(w))
                         for (name, w), v in zip(JOURNAL_COLUMNS, cells, strict=True)).rstrip()

    typer.echo(line([name for name, _ in JOURNAL_COLUMNS]))

    def write_table(entry: dict[str, Any]) -> None:
        for p in entry["lines"]:
            typer.echo(line([entry["position"], entry["at"], entry["event"], entry["user_id"], p["account"],
                             p["credits"], p["money_minor"], p["currency"], p["memo"]]))
    return write_table


def _table(rows: list[dict[str, Any]], columns: list[str], *, csv_out: bool) -> None:
    if csv_out:
        lines = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        lines.writeheader()
        lines.writerows(rows)
        return
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
