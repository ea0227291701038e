"""The `studio-ledger` command line: one entry point for every process and admin task."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.bootstrap import build_ledger

app = typer.Typer(help="Studio Ledger: an event-sourced credits ledger with an image-generation pipeline.",
                  no_args_is_help=True)
HealthPort = Annotated[int, typer.Option(min=0, max=65535, help="Answer /healthz and /readyz on this port (0: off).")]


@app.command()
def wallet(user_id: str) -> None:
    """Print a user's wallet as the event store has it (balances by source, holds)."""
    from datetime import UTC, datetime

    ledger = build_ledger()
    try:
        found = ledger.wallet(user_id)
        if found is None:
            typer.echo(f"user {user_id} has no wallet", err=True)
            raise typer.Exit(1)
        now = datetime.now(UTC)
        typer.echo(json.dumps({
            "user_id": user_id,
            "available": found.available(now),
            "held": found.held,
            "by_source": found.by_source(now),
            "granted": found.granted,
            "consumed": found.consumed,
            "expired": found.expired,
            "clawed_back": found.clawed_back,
            "pending_holds": [h.hold_id for h in found.holds.values() if h.status == "pending"],
        }, indent=2))
    finally:
        ledger.close()


@app.command()
def relay(metrics_port: int = typer.Option(0, help="Serve the lag gauge for Prometheus on this port (0: off)."),
          health_port: HealthPort = 0) -> None:
    """Publish committed ledger events to Kafka from the tracked position (the outbox relay; one leads)."""
    from api.messaging.run import run_relay

    run_relay(metrics_port, health_port)


@app.command()
def consume(health_port: HealthPort = 0) -> None:
    """Apply referral and payment messages from Kafka to the ledger (dead-lettering bad ones)."""
    from api.messaging.run import run_consumers

    run_consumers(health_port)


@app.command()
def serve() -> None:
    """Run the HTTP API; on the embedded default also the projector and the image pipeline."""
    from pydantic import ValidationError

    from api.http.frontend import settings_problem
    from api.http.run import serve as run_serve
    from api.http.settings import UnsafeSettings

    try:
        run_serve()
    except UnsafeSettings as error:
        typer.echo(f"refusing to start: {error}", err=True)
        raise typer.Exit(2) from None
    except ValidationError as error:
        typer.echo(f"refusing to start: {settings_problem(error)}", err=True)
        raise typer.Exit(2) from None


@app.command()
def token(user_id: str, admin: bool = typer.Option(False, help="Give the token the admin role."),
          ttl_minutes: int = typer.Option(0, help="Lifetime in minutes (0: STUDIO_TOKEN_TTL_MINUTES).")) -> None:
    """Print a bearer token for USER_ID (embedded default only)."""
    from api.http.run import token as make_token

    try:
        typer.echo(make_token(user_id, ("admin",) if admin else (), ttl_minutes or None))
    except (PermissionError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


@app.command()
def projector(health_port: HealthPort = 0) -> None:
    """Keep the read tables up to date: follow the ledger until SIGTERM (one leads, others stand by)."""
    import logging

    from api.http.run import run_projector

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_projector(health_port)


@app.command()
def worker(health_port: HealthPort = 0) -> None:
    """Render requested images from Kafka (one member of the workers' consumer group; no database)."""
    from pydantic import ValidationError

    from api.probes import start_probes, watch_app
    from generation.run import run_worker
    from generation.templates import TemplateError

    probes = start_probes(health_port)
    try:
        run_worker(prepare=None if probes is None else lambda worker_app: watch_app(probes, worker_app))
    except (ValidationError, TemplateError) as error:
        typer.echo(f"cannot start the worker: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        if probes is not None:
            probes.stop()


@app.command()
def results(health_port: HealthPort = 0) -> None:
    """Apply the workers' results to the ledger: capture on completion, release on failure."""
    from api.results import run_results

    run_results(health_port)


@app.command()
def sweep(loop: bool = typer.Option(False, help="Keep sweeping every --interval seconds until SIGTERM."),
          interval: float = typer.Option(15.0, min=0.1, help="Seconds between sweeps with --loop."),
          health_port: HealthPort = 0) -> None:
    """Expire holds past their deadline and fail their generations with reason "timeout" (one sweeper leads)."""
    from api.sweeper import run_sweep

    swept = run_sweep(loop=loop, interval=interval, health_port=health_port)
    typer.echo(json.dumps({"generations_failed": swept.generations_failed, "holds_expired": swept.holds_expired}))


store_app = typer.Typer(help="The event store and the read database.", no_args_is_help=True)


@store_app.command("init")
def store_init() -> None:
    """Create the event store's tables and the read tables if they do not exist (idempotent)."""
    from api.http.run import create_schema

    typer.echo(create_schema())


app.add_typer(store_app, name="store")
projections_app = typer.Typer(help="The read tables built from the ledger.", no_args_is_help=True)


@projections_app.command("rebuild")
def rebuild_projections(
        name: Annotated[list[str] | None, typer.Argument(help="Projections to rebuild (default: all).")] = None,
) -> None:
    """Empty projections and replay the whole ledger into them (with a progress bar)."""
    from api.http.run import rebuild
    from projections import ConcurrentProjector

    try:
        count = rebuild(name or [])
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    except ConcurrentProjector as error:
        typer.echo(f"{error}: another projector is running on these tables; run the rebuild again", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"replayed {count} events")


app.add_typer(projections_app, name="projections")


from projections.audit.cli import audit_app  # noqa: E402 (the sub-command groups follow the app)

app.add_typer(audit_app, name="audit")


if __name__ == "__main__":
    app()
