"""Group commit: one writer thread applies queued commands in order and saves them together.

Saving one command per transaction is bounded by the event table's lock and the commit's fsync.
The writer takes every command queued while the previous batch was being saved, applies them in
arrival order to aggregates it keeps in memory (so commands for one wallet are applied one after
another, never retried against each other), and saves all their events in one transaction.
A command that raises fails alone.

Other processes (more API replicas, consumers) write the same aggregates, so what is cached may be
stale. A save that conflicts asks the store for the versions of the batch's aggregates (one query),
forgets the stale ones and every aggregate a command touched together with them, and runs only
those commands again, against what is stored; the others are saved as they were. Once another
writer has been seen (a conflict, or a gap before this writer's positions), each batch is checked
by bringing each cached aggregate up to date when a batch first touches it (one query for the
events it misses, for ``shared_for`` seconds): a rejection is then never decided on a stale wallet,
and conflicts (each a failed transaction under the table lock) stay rare.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from ledger.errors import LedgerError, LedgerUnavailable
from ledger.unit import Outcome, Unit

log = logging.getLogger(__name__)
Command = Callable[[Unit], Any]


class LedgerPort(Protocol):
    """What the group committer needs of the ledger it writes for (``LedgerCore`` is one)."""

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        """The stored aggregate, or None."""

    def fast_forward(self, aggregate: Aggregate) -> Aggregate:
        """The aggregate with the stored events it has not seen applied."""

    def versions(self, ids: list[UUID]) -> dict[UUID, int]:
        """The stored version of each of ``ids`` that has events."""

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save the pending events of these aggregates in one transaction."""

    def run(self, command: Command) -> Outcome:
        """Run one command in its own transaction."""

    def outcome(self, unit: Unit, value: Any, events: list[Any], positions: dict[int, int]) -> Outcome:
        """The outcome of a unit of work once its events are stored."""


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

    max_rounds = 5  # a batch whose commands keep conflicting runs one by one after this many tries
    shared_for = 10.0  # seconds batches are checked before saving after another writer was seen

    def __init__(self, ledger: LedgerPort, *, max_batch: int = 256, linger: float = 0.002,
                 cache_size: int = 10_000) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.linger = linger
        self.cache_size = cache_size
        self.cache: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.batches = 0
        self.commands = 0
        self.conflicts = 0  # saves another process got to first
        self.rerun = 0  # commands run again because what they read was stale
        self._reload: set[UUID] = set()  # ids found stored by another process: read them from the store
        self._head: int | None = None  # the last position this committer saved
        self._shared_until = 0.0
        self._checking = False  # whether this batch brings cached aggregates up to date
        self._checked: set[UUID] = set()  # the aggregates this batch loaded or brought up to date
        self._queue: queue.SimpleQueue[tuple[Command, Pending] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._stopped = False
        self._expected = 1
        self._thread.start()

    def submit(self, command: Command) -> Outcome:
        """Run ``command`` in the next batch and wait for its outcome (or its error)."""
        if self._stopped:
            raise LedgerUnavailable("the ledger's group committer is closed")
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
        cached = self.cache.get(aggregate_id)
        if cached is not None:
            self.cache.move_to_end(aggregate_id)
            if self._checking and aggregate_id not in self._checked:
                self._checked.add(aggregate_id)
                self.ledger.fast_forward(cached)
            return cached
        aggregate = self.ledger.load(aggregate_id)
        if aggregate is not None:
            self._remember(aggregate)
            self._checked.add(aggregate_id)
        return aggregate

    def _cached(self, aggregate_id: UUID) -> Aggregate | None:
        # An id a command creates when absent (a generation's, from its request key): asking the
        # store for each one in this thread cost two thirds of the requests per second
        # (bench/generation_lookup.py). A repeat finds it stored all the same: its save conflicts on
        # the store's unique key, the id is marked to be read from the store, and the commands that
        # touched it run again; a repeat rejected on the way is checked against the store before its
        # rejection stands (_answer).
        if aggregate_id in self.cache:
            self.cache.move_to_end(aggregate_id)
            return self.cache[aggregate_id]
        if aggregate_id in self._reload:
            self._reload.discard(aggregate_id)
            return self._load(aggregate_id)
        return None

    def _remember(self, aggregate: Aggregate) -> None:
        self.cache[aggregate.id] = aggregate
        self.cache.move_to_end(aggregate.id)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def _commit(self, batch: list[tuple[Command, Pending]]) -> None:
        entries = [Entry(command, future) for command, future in batch]
        touched: dict[UUID, Aggregate] = {}
        todo = entries
        # While another process writes too, each cached aggregate is brought up to date (the events
        # it misses, usually none: one query) the first time a batch touches it.
        self._checking = validated = self._shared()
        self._checked.clear()
        self._reload.clear()
        for _ in range(self.max_rounds):
            if not self._apply(todo, touched):
                return self._one_by_one(entries, touched)
            changed = [a for a in touched.values() if a.pending_events]
            try:
                recordings = self.ledger.save(*changed) if changed else []
            except IntegrityError:
                # Another process wrote some of these aggregates first: find which (one query), and
                # run again only the commands that read or wrote them, against what is stored now.
                self._shared_until = time.monotonic() + self.shared_for
                stale = self._stale(touched)
                if not stale:
                    return self._one_by_one(entries, touched)
                self.conflicts += 1
                todo = self._discard(entries, touched, stale)
                continue
            except Exception:
                log.exception("batch of %d commands could not be saved; running them one by one", len(entries))
                return self._one_by_one(entries, touched)
            return self._answer(entries, recordings, validated=validated)
        log.info("batch of %d commands kept conflicting; running the rest one by one", len(entries))
        return self._one_by_one(entries, touched)

    def _apply(self, entries: list[Entry], touched: dict[UUID, Aggregate]) -> bool:
        """Apply commands in order to the aggregates in memory; False if one failed uncleanly."""
        for entry in entries:
            unit = Unit(load=self._load, load_new=self._cached)
            entry.unit = unit
            try:
                entry.value = entry.command(unit)
            except Exception as exc:  # the command's own error, returned to its caller
                entry.error = exc
                if unit.changed() or not isinstance(exc, LedgerError):
                    # Not rejected cleanly: nothing of this batch can be trusted in memory.
                    touched.update(unit.aggregates)
                    return False
            touched.update(unit.aggregates)
            for aggregate in unit.aggregates.values():
                if aggregate.id not in self.cache:
                    self._remember(aggregate)
            entry.events = unit.new_events()
        return True

    def _shared(self) -> bool:
        """Whether another process has been writing lately (then batches are checked before saving)."""
        return time.monotonic() < self._shared_until

    def _stale(self, aggregates: dict[UUID, Aggregate], *, new: Iterable[UUID] = ()) -> set[UUID]:
        """Which of these aggregates (read or changed in memory) another process has changed since
        they were loaded, and which of the ``new`` ids (taken for absent) are stored: one query."""
        base = {i: 0 for i in new} | {i: a.version - len(a.pending_events) for i, a in aggregates.items()}
        if not base:
            return set()
        stored = self.ledger.versions(list(base))
        return {i for i, version in base.items() if stored.get(i, 0) != version}

    def _discard(self, entries: list[Entry], touched: dict[UUID, Aggregate], stale: set[UUID]) -> list[Entry]:
        """Forget the stale aggregates, every aggregate a command touched together with one of them
        (and so on), and those commands' outcomes; return the commands to run again, in order."""
        dirty_ids, dirty = set(stale), []
        grown = True
        while grown:
            grown = False
            for entry in entries:
                if entry.unit is not None and entry not in dirty and dirty_ids & entry.unit.aggregates.keys():
                    dirty.append(entry)
                    dirty_ids |= entry.unit.aggregates.keys()
                    grown = True
        for aggregate_id in dirty_ids:
            touched.pop(aggregate_id, None)
            self.cache.pop(aggregate_id, None)
        self._reload |= stale
        for entry in dirty:
            entry.reset()
        self.rerun += len(dirty)
        return [e for e in entries if e in dirty]

    def _answer(self, entries: list[Entry], recordings: list[Any], *, validated: bool) -> None:
        """Resolve every caller of a saved batch: its outcome, its rejection, or a run on fresh state."""
        self._count(entries)
        self._notice_other_writer(recordings)
        positions = {id(r.domain_event): r.notification.id for r in recordings}
        stale = self._stale_rejections(entries, recordings, validated=validated)
        for entry in entries:
            if entry.error is None:
                assert entry.unit is not None
                entry.future.set_result(self.ledger.outcome(entry.unit, entry.value, entry.events, positions))
            elif stale & entry.read_ids():
                self._run_again(entry)
            else:
                entry.future.set_exception(entry.error)

    def _count(self, entries: list[Entry]) -> None:
        """Count one saved batch and its commands."""
        self.batches += 1
        self.commands += len(entries)

    def _notice_other_writer(self, recordings: list[Any]) -> None:
        """Check batches for a while if positions skipped past this writer's last: someone else wrote."""
        ids = sorted(r.notification.id for r in recordings)
        if not ids:
            return
        if self._head is not None and ids[0] != self._head + 1:
            self._shared_until = time.monotonic() + self.shared_for
        self._head = ids[-1]

    def _stale_rejections(self, entries: list[Entry], recordings: list[Any], *, validated: bool) -> set[UUID]:
        """The ids a rejected command decided on that another process has changed or stored (one query)."""
        rejected = [e for e in entries if e.error is not None]
        if not rejected:
            return set()
        # Ids a rejected command took for new were never looked up (a repeat may find them
        # stored), and while no other writer was seen its cached aggregates were not checked.
        saved = {r.domain_event.originator_id for r in recordings}
        cached = {} if validated else {
            i: a for e in rejected for i, a in e.unit_aggregates().items() if i not in saved}
        assumed = {i for e in rejected for i in e.assumed_new()}
        return self._stale(cached, new=assumed)

    def _run_again(self, entry: Entry) -> None:
        """Decide a command rejected on stale state again, alone, against what is stored."""
        for aggregate_id in entry.unit_aggregates():
            self.cache.pop(aggregate_id, None)
        try:
            entry.future.set_result(self.ledger.run(entry.command))
        except BaseException as error:
            entry.future.set_exception(error)

    def _one_by_one(self, entries: list[Entry], touched: dict[UUID, Aggregate]) -> None:
        for aggregate_id in touched:
            self.cache.pop(aggregate_id, None)
        for entry in entries:
            try:
                entry.future.set_result(self.ledger.run(entry.command))
            except BaseException as error:
                entry.future.set_exception(error)


class Entry:
    """One command of a batch and what applying it gave."""

    __slots__ = ("command", "error", "events", "future", "unit", "value")

    def __init__(self, command: Command, future: Pending) -> None:
        self.command = command
        self.future = future
        self.unit: Unit | None = None
        self.value: Any = None
        self.error: Exception | None = None
        self.events: list[Any] = []

    def unit_aggregates(self) -> dict[UUID, Aggregate]:
        """The aggregates the command read or changed."""
        return {} if self.unit is None else self.unit.aggregates

    def assumed_new(self) -> list[UUID]:
        """The ids the command took for absent without asking the store."""
        return [] if self.unit is None else self.unit.assumed_new

    def read_ids(self) -> set[UUID]:
        """Every id the command's decision rested on: what it read or changed, and what it took for absent."""
        return self.unit_aggregates().keys() | set(self.assumed_new())

    def reset(self) -> None:
        """Forget the outcome: the command runs again."""
        self.unit, self.value, self.error, self.events = None, None, None, []
