"""The ledger's engine: storage, units of work, group commit, and the steps commands share."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, project_aggregate
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, JSONTranscoder, Recording
from eventsourcing.utils import Environment

from ledger.committer import GroupCommitter
from ledger.errors import GenerationNotFound, InvalidCommand, UnknownReference
from ledger.generation import Generation
from ledger.reference import Reference
from ledger.store import transcodings
from ledger.store.pgstore import BinaryAggregateRecorder, BinaryApplicationRecorder
from ledger.store.positions import position_of, versions_of
from ledger.unit import Outcome, StaleRead, Unit, last_position
from ledger.values import Money, credits, digest, stable_id
from ledger.wallet import DEFAULT_BURN_ORDER, Wallet

A = TypeVar("A", bound=Aggregate)
DEFAULT_HOLD_TTL = timedelta(minutes=15)


@functools.lru_cache(maxsize=65_536)
def wallet_id(user_id: str) -> UUID:
    """The deterministic id of ``user_id``'s wallet."""
    return stable_id("wallet", user_id)


def generation_id(user_id: str, request_key: str) -> UUID:
    """The deterministic id of the generation ``user_id`` requested with ``request_key``."""
    return stable_id("generation", f"{user_id}:{request_key}")


class LedgerCore(Application[UUID]):
    """Storage, loading, and running units of work directly or through group commit."""

    snapshot_interval = 100
    snapshotting_intervals = {Wallet: snapshot_interval}
    max_attempts = 200

    def __init__(self, env: dict[str, str] | None = None, *, burn_order: Sequence[str] = DEFAULT_BURN_ORDER,
                 group_commit: bool = False, max_batch: int = 256, linger: float = 0.002) -> None:
        super().__init__(env)
        if isinstance(self.recorder, BinaryApplicationRecorder) and self.snapshots is not None:
            assert isinstance(self.snapshots.recorder, BinaryAggregateRecorder)
            self.recorder.snapshots = self.snapshots.recorder
        self.burn_order = tuple(burn_order)
        self.committer = GroupCommitter(self, max_batch=max_batch, linger=linger) if group_commit else None

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        # Same tables and locking as the library's PostgreSQL store, faster inserts.
        if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            env = Environment(env.name, {**env, "PERSISTENCE_MODULE": "ledger.store.pgstore:Factory"})
        return super().construct_factory(env)

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
        raise RuntimeError(f"command could not be saved after {self.max_attempts} attempts")

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
        together = isinstance(self.recorder, BinaryApplicationRecorder) and self.recorder.snapshots is not None
        if snapshots and together:  # in the events' own transaction: no second commit to wait for
            assert self.snapshots is not None
            processing_event.saved_kwargs["snapshots"] = [self.snapshots.mapper.to_stored_event(s) for s in snapshots]
        recordings = self._record(processing_event)
        for aggregate in objs:  # only once recorded: a batch that conflicts keeps what it had pending
            aggregate.pending_events.clear()
        if snapshots and not together:
            assert self.snapshots is not None
            self.snapshots.put(snapshots)
        self._notify(recordings)
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


def open_wallet(unit: Unit, user_id: str, at: datetime) -> Wallet:
    """The wallet of ``user_id`` in this unit of work, opened if it does not exist yet."""
    found = unit.get(wallet_id(user_id))
    if found is not None:
        assert isinstance(found, Wallet)
        return found
    wallet = Wallet.open(wallet_id(user_id), user_id, at)
    unit.add(wallet)
    return wallet


def require(found: Aggregate | None, cls: type[A], error: Exception) -> A:
    """The aggregate if it exists and is a ``cls``, else raise ``error``."""
    if not isinstance(found, cls):
        raise error
    return found


def check_reference(unit: Unit, kind: str, reference: str, payload: dict[str, Any]) -> tuple[str, bool]:
    """The payload's digest, and whether ``kind:reference`` was already applied with it."""
    if not reference or not reference.strip():
        raise InvalidCommand(f"a {kind} needs a non-empty reference")
    fingerprint = digest({"kind": kind, **payload})
    found = unit.get(Reference.id_for(kind, reference))
    if found is None:
        return fingerprint, False
    assert isinstance(found, Reference)
    found.check(fingerprint)
    unit.repeat_of(found.id, 1)
    return fingerprint, True


def grant_credits(unit: Unit, kind: str, reference: str, awards: list[dict[str, Any]],
                  event_class: type[Wallet.GrantEvent], at: datetime, **fields: Any) -> None:
    """Grant credits to one or more wallets, once per external reference."""
    payload = {"reference": reference, "awards": awards, **fields}
    fingerprint, repeated = check_reference(unit, kind, reference, payload)
    if repeated:
        return
    targets = {}
    for award in awards:
        wallet = open_wallet(unit, award["user_id"], at)
        grant_id = str(stable_id(f"grant:{kind}", f"{reference}:{award['user_id']}"))
        if grant_id in wallet.grants:
            raise StaleRead(f"{kind} {reference} was applied after its reference was read")
        extra = {k: v for k, v in award.items() if k not in ("user_id", "credits")}
        wallet.grant(event_class, grant_id=grant_id, amount=award["credits"], at=at,
                     reference=reference, **extra, **fields)
        targets[str(wallet.id)] = grant_id
    unit.add(Reference.record(kind, reference, fingerprint, targets, timestamp=at))


def close_grants(unit: Unit, kind: str, reference: str, closing: str,
                 event_class: type[Wallet.GrantClosed], source: str, at: datetime) -> None:
    """Refund or reverse every grant made under ``kind:reference``, once."""
    original = unit.get(Reference.id_for(kind, reference))
    if not isinstance(original, Reference):
        raise UnknownReference(f"no {kind} {reference} was ever applied")
    fingerprint, repeated = check_reference(unit, closing, reference, {"reference": reference})
    if repeated:
        return
    for wallet_key, grant_id in original.targets.items():
        wallet = require(unit.get(UUID(wallet_key)), Wallet, UnknownReference(f"wallet {wallet_key}"))
        if wallet.grants[grant_id].closed:
            raise StaleRead(f"{closing} of {kind} {reference} was applied after its reference was read")
        wallet.close_grant(event_class, grant_id=grant_id, reference=reference, at=at, source=source)
    unit.add(Reference.record(closing, reference, fingerprint, dict(original.targets), timestamp=at))


def load_generation(unit: Unit, gen_id: UUID) -> tuple[Generation, Wallet]:
    """The generation ``gen_id`` and the wallet that pays for it."""
    generation = require(unit.get(gen_id), Generation, GenerationNotFound(f"no generation {gen_id}"))
    wallet = require(unit.get(generation.wallet_id), Wallet, UnknownReference(f"wallet {generation.wallet_id}"))
    return generation, wallet


def positive_money(amount: Money, what: str) -> Money:
    """Check that a price is more than zero."""
    credits(amount.minor, what)
    return amount
