"""The ledger's engine: storage, loading, running units of work alone or through group commit.

The business steps a command runs are in ``ledger.steps``; this module only stores what they do.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, project_aggregate
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, JSONTranscoder, Mapper, Recording
from eventsourcing.utils import Environment

from ledger.committer import GroupCommitter
from ledger.errors import LedgerUnavailable
from ledger.event_store import internals, transcodings
from ledger.event_store.positions import position_of, versions_of
from ledger.event_store.sealing import LearnerKeys, SealingMapper, open_state
from ledger.lots import DEFAULT_BURN_ORDER
from ledger.unit import Outcome, StaleRead, Unit, last_position
from ledger.wallet import Wallet


class LedgerCore(Application[UUID]):
    """Storage, loading, and running units of work directly or through group commit."""

    snapshot_interval = 100
    snapshotting_intervals = {Wallet: snapshot_interval}
    max_attempts = 200

    def __init__(self, env: dict[str, str] | None = None, *, burn_order: Sequence[str] = DEFAULT_BURN_ORDER,
                 group_commit: bool = False, max_batch: int = 256, linger: float = 0.002,
                 keys: LearnerKeys | None = None) -> None:
        self.keys = keys  # set before the store is built: its mapper seals personal data under these keys
        super().__init__(env)
        # The PostgreSQL store (ledger.event_store.pgstore) writes snapshots in the events' own transaction.
        self.snapshots_with_events = getattr(self.recorder, "snapshots", None) is not None
        self.burn_order = tuple(burn_order)
        self.committer = GroupCommitter(self, max_batch=max_batch, linger=linger) if group_commit else None

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        # Same tables and locking as the library's PostgreSQL store, faster inserts.
        if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            env = Environment(env.name, {**env, "PERSISTENCE_MODULE": "ledger.event_store.pgstore:Factory"})
        return super().construct_factory(env)

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = super().construct_mapper()
        return mapper if self.keys is None else SealingMapper(mapper, self.keys)

    def open_sealed(self, topic: str, state: dict[str, Any]) -> dict[str, Any]:
        """A stored event's decoded state with its sealed personal fields opened (for the relay, which publishes
        from the stored JSON: a worker renders the learner's words)."""
        return state if self.keys is None else open_state(topic, state, self.keys)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcodings.register(transcoder)

    def close(self) -> None:
        """Stop the group committer and close the store."""
        if self.committer is not None:
            self.committer.close()
        super().close()

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        """The stored aggregate, or None."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def fast_forward(self, aggregate: Aggregate) -> Aggregate:
        """Apply to ``aggregate`` (with no pending events) the stored events it has not seen yet."""
        missing = self.repository.event_store.get(originator_id=aggregate.id, gt=aggregate.version)
        found = project_aggregate(aggregate, missing)
        assert found is not None
        return found

    def versions(self, ids: list[UUID]) -> dict[UUID, int]:
        """The stored version of each of ``ids`` that has events (one query)."""
        return versions_of(self.recorder, ids)

    def execute(self, command: Callable[[Unit], Any]) -> Outcome:
        """Run one command: through the group committer when it is on, else on its own."""
        if self.committer is not None:
            return self.committer.submit(command)
        return self.run(command)

    def run(self, command: Callable[[Unit], Any]) -> Outcome:
        """Run one command in its own transaction, retrying when another writer got there first."""
        for attempt in range(self.max_attempts):
            unit = Unit(load=self.load)
            try:
                value = command(unit)
                events = unit.new_events()
                recordings = self.save(*unit.aggregates.values()) if events else []
            except (IntegrityError, StaleRead):
                time.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))  # noqa: S311 (jitter)
                continue
            if self.committer is not None:
                for aggregate_id in unit.aggregates:
                    self.committer.evict(aggregate_id)
            return self.outcome(unit, value, events, {id(r.domain_event): r.notification.id for r in recordings})
        raise LedgerUnavailable(f"command could not be saved after {self.max_attempts} attempts")

    def outcome(self, unit: Unit, value: Any, events: list[Any], positions: dict[int, int]) -> Outcome:
        """The outcome of a unit of work once its events are stored."""
        position = last_position(events, positions)
        if position is not None:
            return Outcome(position=position, value=value)
        found = [position_of(self.recorder, *anchor) for anchor in unit.anchors]
        position = max((p for p in found if p is not None), default=None)
        return Outcome(position=position or self.recorder.max_notification_id() or 0, value=value, repeated=True)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save the pending events of these aggregates in one transaction.

        The same steps as the library's ``save()``, without its runtime protocol checks on every
        object (about a fifth of a command's time in a batch): everything saved here is an aggregate.
        The aggregates' pending events are cleared only once they are recorded.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.pending_events)
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        snapshots = self._due_snapshots(processing_event)
        together = self.snapshots_with_events
        if snapshots and together:  # in the events' own transaction: no second commit to wait for
            assert self.snapshots is not None
            processing_event.saved_kwargs["snapshots"] = [self.snapshots.mapper.to_stored_event(s) for s in snapshots]
        recordings = internals.record(self, processing_event)
        for aggregate in objs:  # only once recorded: a batch that conflicts keeps what it had pending
            aggregate.pending_events.clear()
        if snapshots and not together:
            assert self.snapshots is not None
            self.snapshots.put(snapshots)
        internals.notify(self, recordings)
        return recordings

    def snapshot_due(self, originator_id: UUID, version: int) -> bool:
        """Whether an aggregate is snapshotted at this version: once every ``snapshot_interval``
        versions, at a phase taken from its id. Wallets whose histories grow in step (a batch
        import, a load test, a promotion to everyone) are then not all snapshotted by one batch,
        which would hold up every command queued behind it."""
        return (version + originator_id.int) % self.snapshot_interval == 0

    def _due_snapshots(self, processing_event: Any) -> list[Any]:
        # Snapshots from the aggregates in memory (already at the versions being saved) rather
        # than reloaded from the store.
        if self.snapshots is None:
            return []
        due = {e.originator_id for e in processing_event.events
               if self.snapshot_due(e.originator_id, e.originator_version)}
        return [
            getattr(type(aggregate), "Snapshot", Snapshot).take(aggregate)
            for aggregate_id, aggregate in processing_event.aggregates.items()
            if aggregate_id in due and type(aggregate) in self.snapshotting_intervals
        ]

