"""The `studio-ledger` command line: one entry point for every process and admin task."""

from __future__ import annotations

import json

import typer

from api.bootstrap import build_ledger

app = typer.Typer(help="Studio Ledger: an event-sourced credits ledger with an image-generation pipeline.",
                  no_args_is_help=True)


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
          ) -> None:
    """Publish committed ledger events to Kafka from the tracked position (the outbox relay)."""
    from api.messaging.run import run_relay

    run_relay(metrics_port)


from projections.audit.cli import audit_app  # noqa: E402 (the sub-command groups follow the app)

app.add_typer(audit_app, name="audit")


if __name__ == "__main__":
    app()
