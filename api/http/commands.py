"""Running one ledger command from a route: counted in the metrics, errors left to the translator."""

from __future__ import annotations

from collections.abc import Callable

from ledger import LedgerError, Outcome
from service.container import Service


def command(service: Service, name: str, run: Callable[[], Outcome]) -> Outcome:
    """Run a ledger command and count its outcome (ok, repeated, or the error's code)."""
    try:
        outcome = run()
    except LedgerError as error:
        service.metrics.commands.labels(name, error.code).inc()
        raise
    service.metrics.commands.labels(name, "repeated" if outcome.repeated else "ok").inc()
    service.saw(outcome.position)
    return outcome
