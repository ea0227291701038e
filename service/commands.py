"""Running the use cases' ledger commands: each counted by name and outcome, its position noted, and a
whole request answered once per idempotency key.

A use case takes a ``Run`` and passes each ledger command through it by name; outside the API
(the Kafka consumers, tests) ``direct`` runs them as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ledger import LedgerError, Outcome
from service.metrics import Metrics

Answer = tuple[int, dict[str, Any]]  # an HTTP status and the JSON body kept for the key
ScopeKind = Literal["user", "webhook"]


@dataclass(frozen=True)
class Scope:
    """Whose idempotency keys: a signed-in caller's (``user``, their user id) or a signed sender's
    (``webhook``, its name). Kept apart by kind, so no user id can be the payment webhook's scope."""

    kind: ScopeKind
    principal: str

    @property
    def former(self) -> str:
        """The one text this caller's answers were kept under before scopes had a kind."""
        return self.principal if self.kind == "user" else f"webhook:{self.principal}"


def caller(user_id: str) -> Scope:
    """The scope of the keys a signed-in caller sends, on every route (one key, one request)."""
    return Scope("user", user_id)


PAYMENT_WEBHOOK = Scope("webhook", "payments")


class Run(Protocol):
    """How a use case runs one named ledger command."""

    def __call__(self, name: str, command: Callable[[], Outcome]) -> Outcome:
        """Run ``command``, known as ``name``, and return its outcome."""
        ...


class Once(Protocol):
    """Keeps the first answer given to each (scope, key): the idempotency store."""

    def once(self, scope: Scope, key: str, request: Any, run: Callable[[], Answer]) -> tuple[int, dict[str, Any], bool]:
        """The answer kept for this key, or ``run()``'s, kept; another request under the key is refused."""
        ...


def direct(name: str, command: Callable[[], Outcome]) -> Outcome:
    """Run ``command`` as it is: no metrics, no idempotency key (the consumers, tests)."""
    return command()


@dataclass(frozen=True)
class Commands:
    """The API's way of running use cases: commands counted in ``metrics``, positions told to ``saw``
    (the read-your-writes bound), answers kept in ``idempotency``."""

    metrics: Metrics
    saw: Callable[[int], None]
    idempotency: Once

    def run(self, name: str, command: Callable[[], Outcome]) -> Outcome:
        """Run a ledger command and count its outcome (ok, repeated, or the ledger error's code)."""
        try:
            outcome = command()
        except LedgerError as error:
            self.metrics.commands.labels(name, error.code).inc()
            raise
        self.metrics.commands.labels(name, "repeated" if outcome.repeated else "ok").inc()
        self.saw(outcome.position)
        return outcome

    def once(self, scope: Scope, key: str, request: Any, answer: Callable[[], Answer]) -> Answer:
        """The answer first given to ``request`` under (scope, key), else ``answer()``'s, kept; another
        request under the key is ``IdempotencyKeyReused``. A failed ``answer()`` keeps nothing."""
        status, body, _ = self.idempotency.once(scope, key, request, answer)
        return status, body
