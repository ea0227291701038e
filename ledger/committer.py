"""Group commit: one writer thread applies queued commands in order and saves them together.

Saving one command per transaction is bounded by the event table's lock and the commit's fsync.
The writer takes every command queued while the previous batch was being saved, applies them in
arrival order to aggregates it keeps in memory (so commands for one wallet are applied one after
another, never retried against each other), and saves all their events in one transaction.
A command that raises fails alone. If the batch cannot be saved (another process wrote one of
its aggregates first), every command of the batch runs again on its own, against fresh state.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import LedgerError
from ledger.unit import Outcome, Unit

if TYPE_CHECKING:
    from ledger.core import LedgerCore

log = logging.getLogger(__name__)
Command = Callable[[Unit], Any]


class Pending:
    """One caller's command waiting for its batch: a lock the writer releases when it is done
    (lighter than a Future's condition variable, which matters at thousands per second)."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self._value: Outcome | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        """Whether the outcome or error is set."""
        return not self._done.locked()

    def set_result(self, value: Outcome) -> None:
        """Hand the outcome to the waiting caller."""
        self._value = value
        self._done.release()

    def set_exception(self, error: BaseException) -> None:
        """Hand the error to the waiting caller."""
        self._error = error
        self._done.release()

    def result(self) -> Outcome:
        """Wait for the outcome; raise the command's error."""
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


class GroupCommitter:
    """Collects concurrent commands and saves each batch of them in one transaction."""

    def __init__(self, ledger: LedgerCore, *, max_batch: int = 256, linger: float = 0.002,
                 cache_size: int = 10_000) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.linger = linger
        self.cache_size = cache_size
        self.cache: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.batches = 0
        self.commands = 0
        self._queue: queue.SimpleQueue[tuple[Command, Pending] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._stopped = False
        self._expected = 1
        self._thread.start()

    def submit(self, command: Command) -> Outcome:
        """Run ``command`` in the next batch and wait for its outcome (or its error)."""
        if self._stopped:
            raise RuntimeError("the ledger's group committer is closed")
        future = Pending()
        self._queue.put((command, future))
        return future.result()

    def close(self) -> None:
        """Finish the queued commands and stop the writer thread."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(None)
            self._thread.join()

    def evict(self, aggregate_id: UUID) -> None:
        """Forget a cached aggregate (it was written outside the committer)."""
        self.cache.pop(aggregate_id, None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = self._fill(batch)
            try:
                self._commit(batch)
            except BaseException as error:  # the writer must outlive any one batch
                log.exception("group commit failed")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            if stop:
                return

    def _fill(self, batch: list[tuple[Command, Pending]]) -> bool:
        # Take what is queued; then, for up to `linger`, wait for as many commands as the last
        # batch had: its callers are likely about to send their next one. A lone caller
        # (last batch of one) never waits.
        deadline = time.monotonic() + self.linger
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if len(batch) >= self._expected or wait <= 0:
                    break
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
            if item is None:
                return True
            batch.append(item)
        self._expected = len(batch)
        return False

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self.cache:
            self.cache.move_to_end(aggregate_id)
            return self.cache[aggregate_id]
        aggregate = self.ledger.load(aggregate_id)
        if aggregate is not None:
            self._remember(aggregate)
        return aggregate

    def _cached(self, aggregate_id: UUID) -> Aggregate | None:
        # An id a command creates when absent (a generation's, from its request key): asking the
        # store for each one in this thread cost two thirds of the requests per second
        # (bench/generation_lookup.py). A repeat finds it stored all the same: its save conflicts on
        # the store's unique key and the batch runs one by one against the store; a repeat
        # rejected on the way is checked against the store before its rejection stands (_commit).
        if aggregate_id in self.cache:
            self.cache.move_to_end(aggregate_id)
            return self.cache[aggregate_id]
        return None

    def _remember(self, aggregate: Aggregate) -> None:
        self.cache[aggregate.id] = aggregate
        self.cache.move_to_end(aggregate.id)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def _commit(self, batch: list[tuple[Command, Pending]]) -> None:
        results: list[tuple[Unit, Any, Exception | None, list[Any]]] = []
        touched: dict[UUID, Aggregate] = {}
        for command, _ in batch:
            unit = Unit(load=self._load, load_new=self._cached)
            try:
                value, error = command(unit), None
            except Exception as exc:  # the command's own error, returned to its caller
                value, error = None, exc
                if unit.changed() or not isinstance(exc, LedgerError):
                    # Not rejected cleanly: nothing of this batch can be trusted in memory.
                    return self._one_by_one(batch, touched | unit.aggregates)
            touched.update(unit.aggregates)
            for aggregate in unit.aggregates.values():
                if aggregate.id not in self.cache:
                    self._remember(aggregate)
            results.append((unit, value, error, unit.new_events()))
        changed = [a for a in touched.values() if a.pending_events]
        try:
            recordings = self.ledger.save(*changed) if changed else []
        except Exception:
            log.info("batch of %d commands conflicted; running them one by one", len(batch))
            return self._one_by_one(batch, touched)
        self.batches += 1
        self.commands += len(batch)
        positions = {id(r.domain_event): r.notification.id for r in recordings}
        saved = {a.id for a in changed}
        for (unit, value, error, events), (command, future) in zip(results, batch, strict=True):
            if error is not None and (self._stale(unit, saved) or self._stored(unit.assumed_new)):
                future.set_result(self.ledger.run(command))
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(self.ledger.outcome(unit, value, events, positions))

    def _stored(self, assumed_new: list[UUID]) -> bool:
        """Whether an id a rejected command took for new exists (the command was a repeat)."""
        return any(self._load(aggregate_id) is not None for aggregate_id in assumed_new)

    def _stale(self, unit: Unit, saved: set[UUID]) -> bool:
        """Whether a rejection was decided on a cached aggregate that another writer changed."""
        stale = False
        for aggregate_id, aggregate in unit.aggregates.items():
            if aggregate_id in saved:  # its version was just checked by the save
                continue
            fresh = self.ledger.load(aggregate_id)
            if fresh is not None and fresh.version != aggregate.version:
                self.cache[aggregate_id] = fresh
                stale = True
        return stale

    def _one_by_one(self, batch: list[tuple[Command, Pending]],
                    touched: dict[UUID, Aggregate]) -> None:
        for aggregate_id in touched:
            self.cache.pop(aggregate_id, None)
        for command, future in batch:
            try:
                future.set_result(self.ledger.run(command))
            except BaseException as error:
                future.set_exception(error)
