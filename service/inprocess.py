"""In-process dispatch for the embedded default: the worker's handler fed from the ledger's own log.

It follows the notification log for ``GenerationRequested`` from a position kept in a small file,
renders each request with ``GenerationHandler`` (the Kafka worker's code) and applies the result
with ``apply_result`` (the result consumer's code). The position is written after a page's results
are recorded: after a crash the page is read again, the store already has its images, and the
ledger treats the repeated results as no-ops, so nothing is lost and nothing is rendered twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger import Generation, Ledger, LedgerError
from ledger.event_store.follow import Follower, Stored
from media.handler import GenerationHandler, RetryPolicy
from media.inputs import InputPhotos
from media.messages import GenerationRequestedMessage, GenerationResult, event_message
from media.ports import ImageModel, ImageStore
from media.templates import TemplateCatalog
from service import tracing
from service.failures import transient
from service.liveness import thread_state
from service.results import apply_result

if TYPE_CHECKING:  # c2pa's native library loads only where images are signed
    from media.credentials import ContentCredentials

log = logging.getLogger(__name__)


def request_message(stored: Stored) -> GenerationRequestedMessage:
    """The message the relay would publish for a stored ``GenerationRequested``."""
    return GenerationRequestedMessage.model_validate(event_message(stored.event, position=stored.position))


class PositionFile:
    """The last ledger position whose requests were dispatched, kept in one small file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory = 0

    def read(self) -> int:
        """The recorded position (0 when none)."""
        if self.path is None:
            return self._memory
        try:
            return int(self.path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def write(self, position: int) -> None:
        """Record ``position`` atomically."""
        self._memory = position
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(f"{position}\n")
        os.replace(temporary, self.path)


class InProcessPipeline:
    """Takes requests to finished images inside the ledger's process, without Kafka."""

    def __init__(self, ledger: Ledger, catalog: TemplateCatalog, model: ImageModel, store: ImageStore, *,
                 position_file: Path | None = None, policy: RetryPolicy | None = None, concurrency: int = 4,
                 poll_interval: float = 0.05, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 inputs: InputPhotos | None = None, credentials: ContentCredentials | None = None) -> None:
        self.ledger = ledger
        self.handler = GenerationHandler(catalog, model, store, policy, clock=clock, inputs=inputs,
                                         credentials=credentials)
        self.positions = PositionFile(position_file)
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.clock = clock
        self.dispatched = 0
        self.refused = 0  # results the ledger refused: logged, and no reason to stop the others
        self._follower: Follower | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def position(self) -> int:
        """The last position whose requests are all finished."""
        return self.positions.read()

    def start(self) -> None:
        """Follow the log on a background thread from the recorded position."""
        if self._thread is not None:
            raise RuntimeError("the in-process pipeline is already running")
        self._follower = Follower(self.ledger, after=self.positions.read(), poll_interval=self.poll_interval,
                                  topics=[get_topic(Generation.GenerationRequested)])
        self._thread = threading.Thread(target=self._run, name="generation-inprocess", daemon=True)
        self._thread.start()

    @property
    def failure(self) -> BaseException | None:
        """The error that stopped the background dispatch, if one did (it resumes on the next start)."""
        return self._failure

    def check(self) -> str:
        """"ok" while the dispatch thread follows the log, else what stopped it."""
        return thread_state(self._thread, self._failure)

    def stop(self) -> None:
        """Stop after the current page; the model's connections are closed on the dispatch thread."""
        if self._follower is not None:
            self._follower.stop()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def run_once(self) -> int:
        """Dispatch every request stored so far (no thread); the number dispatched."""
        follower = Follower(self.ledger, after=self.positions.read(),
                            topics=[get_topic(Generation.GenerationRequested)])
        before = self.dispatched
        with asyncio.Runner() as runner:
            while page := follower.read():
                self._dispatch(runner, page)
        return self.dispatched - before

    def _run(self) -> None:
        assert self._follower is not None
        with asyncio.Runner() as runner:
            for page in self._follower.pages():
                try:
                    self._dispatch(runner, page)
                except Exception as error:  # keep the position: the page is read again after a restart
                    log.exception("in-process dispatch stopped at position %s", self.positions.read())
                    self._failure = error
                    self._follower.stop()
            runner.run(self.handler.model.aclose())  # on the loop its connections belong to

    def _dispatch(self, runner: asyncio.Runner, page: list[Stored]) -> None:
        pending = [s for s in page if not self._finished(s.event.originator_id)]
        requests = [request_message(s) for s in pending]
        # Each render is the child of the request that recorded it; each capture, of its render.
        traces = [getattr(s.event, "traceparent", "") for s in pending]
        rendered = runner.run(self._render(requests, traces))
        for result, render in rendered:
            try:
                with tracing.span("generation result apply", parent=render):
                    apply_result(self.ledger, result, self.clock())
            except Exception as error:
                if transient(error):  # the store is out of reach: stop here, the page is read again
                    raise
                # This result can never apply (the Kafka result consumer would dead-letter it): the
                # others must not wait behind it. Its hold expires and the sweeper fails the generation.
                self.refused += 1
                unforeseen = not isinstance(error, LedgerError)  # a bug: its trace is for whoever fixes it
                log.error("in-process dispatch: the result for generation %s was refused (%s): %s",
                          result.generation_id, type(error).__name__, error, exc_info=unforeseen)
        self.dispatched += len(rendered)
        self.positions.write(page[-1].position)

    def _finished(self, generation_id: UUID) -> bool:
        found = self.ledger.generation(generation_id)
        return found is None or found.is_finished

    async def _render(self, requests: list[GenerationRequestedMessage],
                      traces: list[str]) -> list[tuple[GenerationResult, str]]:
        """Each request's result, with the ``traceparent`` of its render ("" untraced)."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(request: GenerationRequestedMessage, trace: str) -> tuple[GenerationResult, str]:
            async with gate:
                with tracing.span("generation render", parent=trace,
                                  attributes={"generation.id": str(request.generation_id)}):
                    return await self.handler.handle(request), tracing.traceparent()

        return list(await asyncio.gather(*(one(r, t) for r, t in zip(requests, traces, strict=True))))
