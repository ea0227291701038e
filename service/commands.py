"""Running the use cases' ledger commands: each counted by name and outcome, its position noted, and a
whole request answered once per idempotency key.

A use case takes a ``Run`` and passes each ledger command through it by name; outside the API
(the Kafka consumers, tests) ``direct`` runs them as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio.to_thread

from ledger import LedgerError, Outcome
from media.threads import Lane
from service import tracing
from service.limits import KeyedLocks
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

    def recall(self, scope: Scope, key: str, request: Any) -> Answer | None:
        """The answer kept for this key, or None; another request under the key is refused."""
        ...

    def keep(self, scope: Scope, key: str, request: Any, status: int, body: dict[str, Any],
             ) -> tuple[int, dict[str, Any], bool]:
        """Keep a first answer (or return the one a concurrent first attempt kept)."""
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
    requests: KeyedLocks = field(default_factory=KeyedLocks)  # the process's own: shared by every request
    lane: Lane | None = None  # where once_async runs its statements; None: the loop's default threads

    def run(self, name: str, command: Callable[[], Outcome]) -> Outcome:
        """Run a ledger command and count its outcome (ok, repeated, or the ledger error's code)."""
        try:
            with tracing.span(f"ledger {name}"):
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

    async def once_async(self, scope: Scope, key: str, request: Any, answer: Callable[[], Awaitable[Answer]]) -> Answer:
        """``once`` for an answer that awaits its own I/O on the event loop: only the idempotency store's
        statements take a worker thread, and none of them waits on the loop. Concurrent requests under one
        key in this process run one after the other, so the second finds the first's answer instead of
        doing its work again (an upload kept twice)."""
        blocking = self.lane.run if self.lane is not None else anyio.to_thread.run_sync
        async with self.requests.hold((scope, key)):
            found = await blocking(self.idempotency.recall, scope, key, request)
            if found is not None:
                return found
            status, body = await answer()
            kept = await blocking(self.idempotency.keep, scope, key, request, status, body)
        return kept[0], kept[1]
