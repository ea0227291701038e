"""The `studio-ledger` command line: one entry point for every process and admin task.

What a command imports inside its function is what only that command needs and is slow to load: a
process module (FastAPI, FastStream, SQLAlchemy's tables: half a second or more), the bootstrap (every
adapter), the projections, the Kafka topics (aiokafka) and, on a failed start, the template parser. The
rest is imported here once, so `studio-ledger --help` and a token stay quick."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from api.audit_cli import audit_app
from api.audit_margins import margins as _margins  # noqa: F401  (registers `audit margins`)
from api.audit_reconcile import reconcile as _reconcile  # noqa: F401 (registers `audit reconcile`)
from api.audit_revenue import revenue as _revenue  # noqa: F401  (registers `audit revenue`)
from api.erase_cli import erase
from api.store_commands import store_app
from api.templates_cli import templates_app
from ledger.errors import InvalidUserId
from ledger.names import check_user_id
from service.policy import PolicyError
from service.settings.api import UnsafeSettings
from service.settings.messaging import MessagingSettings
from service.settings.store import StartupError, describe_invalid

if TYPE_CHECKING:
    from api.messaging.topics import Process


class _Commands(typer.Typer):
    """The command line: a process that cannot start says why in one line and exits 2, no traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            line = startup_problem(error)
            if line is None:
                raise
            typer.echo(f"studio-ledger: {line}", err=True)
            sys.exit(2)


def startup_problem(error: BaseException) -> str | None:
    """The one line for an error that stops a process at start-up (bad settings, policy or templates, an
    unreachable database); None for anything else, which keeps its traceback."""
    from media.templates import TemplateError, UnknownTemplate  # the catalogue's parser: only on a failure

    if isinstance(error, ValidationError) and error.title.endswith("Settings"):
        return f"invalid settings: {describe_invalid(error)}"
    if isinstance(error, UnsafeSettings):
        return f"refusing to start: {error}"
    if isinstance(error, StartupError | PolicyError | TemplateError):
        return str(error)
    if isinstance(error, UnknownTemplate):
        return str(error)
    return None


app = _Commands(help="Studio Ledger: an event-sourced credits ledger with an image-generation pipeline.",
                no_args_is_help=True, pretty_exceptions_show_locals=False)


def _user_id(value: str) -> str:
    try:
        return check_user_id(value)
    except InvalidUserId as error:
        raise typer.BadParameter(str(error)) from None


# The one rule for a user id (ledger.names), as the API and the consumers apply it.
UserIdArgument = Annotated[str, typer.Argument(callback=_user_id, metavar="USER_ID", show_default=False)]
HealthPort = Annotated[int, typer.Option(min=0, max=65535, help="Answer /healthz and /readyz on this port (0: off).")]
MetricsPort = Annotated[int, typer.Option(min=0, max=65535, help="Serve the count of record batches it could not "
                                          "read for Prometheus on this port (0: off).")]


LIFETIME = ("purchased", "granted", "spent", "expired", "clawed_back")


@app.command()
def wallet(user_id: UserIdArgument) -> None:
    """Print a user's wallet in the words of `GET /v1/wallet`: its credits now as the event store has them,
    its lifetime totals as the balances projection keeps them (a note on stderr when it lags the store)."""
    from projections import queries
    from projections.balances import WalletBalances
    from service.bootstrap import build_ledger, build_read_engine

    ledger, engine = build_ledger(), build_read_engine(pool_size=1)
    try:
        found = ledger.wallet(user_id)
        if found is None:
            typer.echo(f"user {user_id} has no wallet", err=True)
            raise typer.Exit(1)
        now = datetime.now(UTC)
        with engine.connect() as conn:
            row = queries.wallet(conn, user_id, now)
            projected = queries.tracked_positions(conn).get(WalletBalances.name, 0)
        head = ledger.recorder.max_notification_id() or 0
        if projected < head:
            typer.echo(f"note: the balances projection is at position {projected} of {head}; lifetime totals "
                       "may not count the newest events", err=True)
        typer.echo(json.dumps({
            "user_id": user_id,
            "available": found.available(now),
            "held": found.held,
            "by_source": found.by_source(now),
            "lifetime": {key: int(row[key]) if row is not None else 0 for key in LIFETIME},
            "pending_holds": [h.hold_id for h in found.holds.values() if h.is_pending],
        }, indent=2))
    finally:
        ledger.close()
        engine.dispose()


def _require_topics(process: Process) -> None:
    """Refuse to start, in one line naming the topic, when a topic ``process`` reads or writes is missing."""
    import os

    from api.messaging.topics import TopicsError, process_topics, require_topics  # aiokafka
    from service.tracing import exporter_wanted

    exporter_wanted(os.environ)  # an OTEL_* mistake is named before the broker is waited for
    try:
        settings = MessagingSettings()
        asyncio.run(require_topics(settings.kafka_bootstrap_servers, process_topics(settings, process),
                                   within=settings.kafka_topic_check_s))
    except (TopicsError, ValidationError) as error:
        typer.echo(f"cannot start the {process}: {_one_line(error)}", err=True)
        raise typer.Exit(2) from None


def _one_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        return f"STUDIO_{field.upper()}: {first['msg']}" if field else first["msg"]
    return str(error)


@app.command()
def relay(metrics_port: int = typer.Option(0, help="Serve the lag gauge for Prometheus on this port (0: off)."),
          health_port: HealthPort = 0) -> None:
    """Publish committed ledger events to Kafka from the tracked position (the outbox relay; one leads)."""
    from api.processes.relay import run_relay

    _require_topics("relay")
    run_relay(metrics_port, health_port)


@app.command()
def consume(health_port: HealthPort = 0, metrics_port: MetricsPort = 0) -> None:
    """Apply referral and payment messages from Kafka to the ledger (dead-lettering bad ones)."""
    from api.processes.consume import run_consumers

    _require_topics("consume")
    run_consumers(health_port, metrics_port)


@app.command()
def serve(host: str = typer.Option("", help="Address to listen on (default: STUDIO_HOST, 127.0.0.1)."),
          port: int = typer.Option(0, min=0, max=65535, help="Port to listen on (default: STUDIO_PORT, 8000)."),
          ) -> None:
    """Run the HTTP API; on the embedded default also the projector and the image pipeline."""
    from api.processes.serve import serve as run_serve

    try:
        run_serve(host=host or None, port=port or None)
    except UnsafeSettings as error:
        typer.echo(f"refusing to start: {error}", err=True)
        raise typer.Exit(2) from None
    except ValidationError as error:
        typer.echo(f"refusing to start: {describe_invalid(error)}", err=True)
        raise typer.Exit(2) from None


@app.command()
def token(user_id: UserIdArgument, admin: bool = typer.Option(False, help="Give the token the admin role."),
          templates: bool = typer.Option(False, help="Give the token the templates role (templates only)."),
          moderation: bool = typer.Option(False, help="Give the token the moderation role (reported images "
                                          "only)."),
          finance: bool = typer.Option(False, help="Give the token the finance role (reconciliation only)."),
          ttl_minutes: int = typer.Option(0, min=0, max=60 * 24 * 30, help="Lifetime in minutes, at most 30 days "
                                          "(0: STUDIO_TOKEN_TTL_MINUTES).")) -> None:
    """Print a bearer token for USER_ID (embedded default only)."""
    from api.processes.serve import token as make_token

    roles = (*(("admin",) if admin else ()), *(("templates",) if templates else ()),
             *(("moderation",) if moderation else ()), *(("finance",) if finance else ()))
    try:
        typer.echo(make_token(user_id, roles, ttl_minutes or None))
    except ValidationError:
        raise  # bad settings: the one line of startup_problem
    except (PermissionError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


@app.command()
def projector(health_port: HealthPort = 0) -> None:
    """Keep the read tables up to date: follow the ledger until SIGTERM (one leads, others stand by)."""
    from api.processes.projector import run_projector

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_projector(health_port)


@app.command()
def worker(health_port: HealthPort = 0, metrics_port: MetricsPort = 0) -> None:
    """Render requested images from Kafka (one member of the workers' consumer group; no database)."""
    from api.processes.worker import run_worker

    _require_topics("worker")
    run_worker(health_port, metrics_port)


@app.command()
def results(health_port: HealthPort = 0, metrics_port: MetricsPort = 0) -> None:
    """Apply the workers' results to the ledger: capture on completion, release on failure."""
    from api.processes.results import run_results

    _require_topics("results")
    run_results(health_port, metrics_port)


@app.command()
def sweep(loop: bool = typer.Option(False, help="Keep sweeping every --interval seconds until SIGTERM."),
          interval: float = typer.Option(15.0, min=0.1, help="Seconds between sweeps with --loop."),
          health_port: HealthPort = 0) -> None:
    """Expire holds past their deadline and fail their generations with reason "timeout"; delete images never
    shared past STUDIO_UNSHARED_IMAGE_RETENTION_DAYS (one sweeper leads)."""
    from api.processes.sweep import run_sweep

    swept = run_sweep(loop=loop, interval=interval, health_port=health_port)
    typer.echo(json.dumps({"generations_failed": swept.generations_failed, "holds_expired": swept.holds_expired,
                           "images_deleted": swept.images_deleted}))


app.add_typer(store_app, name="store")
projections_app = typer.Typer(help="The read tables built from the ledger.", no_args_is_help=True)


@projections_app.command("rebuild")
def rebuild_projections(
        name: Annotated[list[str] | None, typer.Argument(help="Projections to rebuild (default: all).")] = None,
) -> None:
    """Empty projections and replay the whole ledger into them (with a progress bar)."""
    from api.processes.projector import rebuild
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


@projections_app.command("failures")
def projection_failures(
        name: Annotated[list[str] | None, typer.Argument(help="Projections to list (default: all).")] = None,
) -> None:
    """List the events projections set aside because they cannot apply them (exits 1 if there are any).

    Each line: projection, ledger position, event type, aggregate id, reason, when. Once the cause is
    fixed, `projections rebuild NAME` applies the whole log again and clears the list of NAME."""
    from api.processes.projector import set_aside

    found = set_aside(name or [])
    for item in found:
        typer.echo(f"{item.projection}\t{item.position}\t{item.event_type}\t{item.aggregate_id}\t{item.reason}\t"
                   f"{item.failed_at.isoformat()}")
    if found:
        raise typer.Exit(1)
    typer.echo("no events set aside", err=True)


app.add_typer(projections_app, name="projections")

kafka_app = typer.Typer(help="The Kafka topics the project reads and writes.", no_args_is_help=True)


@kafka_app.command("init")
def kafka_init() -> None:
    """Create every topic the project reads or writes, dead-letter topics included (idempotent)."""
    from api.messaging.topics import TopicsError, init_topics, project_topics  # aiokafka

    try:
        settings = MessagingSettings()
        specs = project_topics(settings)
        report = asyncio.run(init_topics(settings.kafka_bootstrap_servers, specs, within=settings.kafka_topic_check_s))
    except (TopicsError, ValidationError) as error:
        typer.echo(f"kafka init failed: {_one_line(error)}", err=True)
        raise typer.Exit(2) from None
    for spec in specs:
        state = "created" if spec.name in report.created else "exists"
        typer.echo(f"{state:8} {spec.name} (partitions {spec.partitions}, replication {spec.replication_factor}, "
                   f"retention.ms {spec.retention_ms})" if state == "created" else f"{state:8} {spec.name}")
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)


app.add_typer(kafka_app, name="kafka")
app.add_typer(templates_app, name="templates")
app.command()(erase)


app.add_typer(audit_app, name="audit")


if __name__ == "__main__":
    app()
