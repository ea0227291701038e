"""The sweeper: holds past their deadline expire, their generations fail with reason ``timeout``, open
recharges are driven to their end (``service.recharges``); with a retention period, images never shared are
deleted once they are older than it.

It folds the ledger's hold and generation events (read through ``Follower``, filtered by topic)
into the set of what is still pending, then resolves whatever is due. Run once by
``studio-ledger sweep``, or every few seconds inside a service with ``SweepLoop``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger import ConflictingCommand, Generation, InvalidTransition, Ledger, Wallet, wallet_id
from ledger.event_store.follow import Follower, Stored
from service.alert_delivery import AlertDeliverer, ExpiryWatch
from service.liveness import thread_state
from service.privacy import delete_kept
from service.recharges import RechargeDriver
from service.topups import TopUpWatch

log = logging.getLogger(__name__)
FOLLOWED = (Wallet.WalletOpened, Wallet.HoldPlaced, Wallet.HoldCaptured, Wallet.HoldReleased, Wallet.HoldExpired,
            Generation.GenerationRequested, Generation.GenerationCompleted, Generation.GenerationFailed,
            Generation.GenerationShared, Generation.GenerationImageDeleted)
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Swept:
    """What one sweep did."""

    generations_failed: int = 0
    holds_expired: int = 0
    images_deleted: int = 0
    recharges_ended: int = 0
    alerts_delivered: int = 0
    expiring_told: int = 0
    top_ups_started: int = 0


class Pending:
    """Unresolved holds and unfinished generations, with their deadlines."""

    def __init__(self, *, keeps: bool = False) -> None:
        self.users: dict[UUID, str] = {}
        self.holds: dict[tuple[UUID, str], datetime] = {}
        self.generations: dict[UUID, datetime] = {}
        self.keeps = keeps  # whether to follow finished images never shared (only with a retention period)
        self.kept: dict[UUID, datetime] = {}

    def apply(self, stored: Stored) -> None:
        """Fold one event in."""
        event = stored.event
        if isinstance(event, Wallet.WalletOpened):
            self.users[event.originator_id] = event.user_id
        elif isinstance(event, Wallet.HoldPlaced):
            if "generation_id" not in event.meta:  # a generation's hold is swept with its generation
                self.holds[(event.originator_id, event.hold_id)] = event.expires_at
        elif isinstance(event, Wallet.HoldResolution):
            self.holds.pop((event.originator_id, event.hold_id), None)
        elif isinstance(event, Generation.GenerationRequested):
            self.generations[event.originator_id] = event.expires_at
        elif isinstance(event, Generation.GenerationCompleted | Generation.GenerationFailed):
            self.generations.pop(event.originator_id, None)
            if self.keeps and isinstance(event, Generation.GenerationCompleted):
                self.kept[event.originator_id] = event.timestamp
        elif isinstance(event, Generation.GenerationShared | Generation.GenerationImageDeleted):
            self.kept.pop(event.originator_id, None)  # a shared image is kept: the learner chose to show it

    def due_generations(self, at: datetime) -> list[UUID]:
        """Unfinished generations whose hold deadline has passed, oldest deadline first."""
        return [g for g, deadline in sorted(self.generations.items(), key=lambda item: item[1]) if deadline <= at]

    def due_images(self, at: datetime, retention: timedelta) -> list[UUID]:
        """Finished images never shared that are older than ``retention``."""
        return [g for g, finished in self.kept.items() if finished + retention <= at]

    def due_holds(self, at: datetime) -> list[tuple[str, str]]:
        """(user id, hold id) of plain holds past their deadline."""
        return [(self.users[w], h) for (w, h), deadline in self.holds.items() if deadline <= at and w in self.users]


class Sweeper:
    """Resolves what is past its deadline, from the ledger's own log."""

    def __init__(self, ledger: Ledger, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 retention: timedelta | None = None, purge: Callable[[str], None] | None = None,
                 recharges: RechargeDriver | None = None, alerts: AlertDeliverer | None = None,
                 expiring: ExpiryWatch | None = None, topups: TopUpWatch | None = None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.retention = retention if purge is not None else None  # images are deleted only with their store
        self.purge = purge  # deletes a stored image (its storage id) from the image store
        self.recharges = recharges
        self.alerts = alerts
        self.expiring = expiring
        self.topups = topups
        self.pending = Pending(keeps=self.retention is not None)
        self.follower = Follower(ledger, topics=[get_topic(cls) for cls in FOLLOWED])

    def catch_up(self) -> None:
        """Fold every followed event stored so far."""
        while page := self.follower.read():
            for stored in page:
                self.pending.apply(stored)
        if self.recharges is not None:
            self.recharges.catch_up()

    def sweep(self, at: datetime | None = None) -> Swept:
        """Fail due generations (reason ``timeout``, their holds expire) and expire due plain holds."""
        self.catch_up()
        at = at or self.clock()
        failed = expired = 0
        for generation_id in self.pending.due_generations(at):
            try:
                outcome = self.ledger.fail_generation(generation_id=generation_id, reason=TIMEOUT, retryable=True,
                                                      at=at)
                failed += not outcome.repeated
            except (ConflictingCommand, InvalidTransition) as error:  # it finished meanwhile
                log.info("generation %s not swept: %s", generation_id, error)
            self.pending.generations.pop(generation_id, None)
        for user_id, hold_id in self.pending.due_holds(at):
            try:
                expired += not self.ledger.expire_hold(user_id=user_id, hold_id=hold_id, at=at).repeated
            except ConflictingCommand as error:  # captured or released meanwhile
                log.info("hold %s of %s not swept: %s", hold_id, user_id, error)
            self.pending.holds.pop((wallet_id(user_id), hold_id), None)
        topped = self.topups.tell(at) if self.topups is not None else 0  # before the driver: asked this turn
        ended = self.recharges.drive(at) if self.recharges is not None else 0
        told = self.expiring.tell(at) if self.expiring is not None else 0
        delivered = self.alerts.deliver(at) if self.alerts is not None else 0
        return Swept(generations_failed=failed, holds_expired=expired, images_deleted=self._delete_kept(at),
                     recharges_ended=ended, alerts_delivered=delivered, expiring_told=told, top_ups_started=topped)

    def _delete_kept(self, at: datetime) -> int:
        if self.retention is None or self.purge is None:
            return 0
        deleted = 0
        for generation_id in self.pending.due_images(at, self.retention):
            try:
                deleted += delete_kept(self.ledger, generation_id=generation_id, at=at, purge=self.purge)
            except (ConflictingCommand, InvalidTransition) as error:
                log.info("image of generation %s not deleted: %s", generation_id, error)
            self.pending.kept.pop(generation_id, None)
        return deleted


class SweepLoop:
    """Sweeps every ``interval`` seconds on a background thread until stopped.

    Between sweeps it folds in what the ledger stored each ``follow_every`` seconds, so that a
    sweep never has a whole interval of events to decode at once: on a busy ledger that would be
    thousands of events in one burst, which stalls every other thread of the process for it.
    """

    def __init__(self, sweeper: Sweeper, *, interval: float = 15.0, follow_every: float = 1.0) -> None:
        self.sweeper = sweeper
        self.interval = interval
        self.follow_every = min(follow_every, interval)
        self.last: Swept = Swept()
        self.turned = time.monotonic()  # when the loop last came round (its liveness)
        self._stopping = threading.Event()
        self._nudged = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sweeping (again, after a stop)."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name="ledger-sweeper", daemon=True)
        self._thread.start()

    def check(self) -> str:
        """"ok" while the sweeping thread runs, else "stopped"."""
        return thread_state(self._thread)

    def nudge(self) -> None:
        """Sweep at once rather than at the next interval: a learner waits on a recharge just asked for."""
        self._nudged.set()

    def stop_soon(self) -> None:
        """Ask the loop to stop after the current sweep, without waiting for it."""
        self._stopping.set()
        self._nudged.set()  # out of its wait at once

    def stop(self) -> None:
        """Stop after the current sweep."""
        self._stopping.set()
        self._nudged.set()  # out of its wait at once
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run(self) -> None:
        """Sweep now and every ``interval`` seconds, following the log in between, until ``stop()``."""
        next_sweep = time.monotonic()
        while not self._stopping.is_set():
            self.turned = time.monotonic()
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.interval
                    self.last = self.sweeper.sweep()
                    if any(vars(self.last).values()):
                        log.info("swept: %s", self.last)
                else:
                    self.sweeper.catch_up()
            except Exception:  # a failed sweep is retried at the next tick
                log.exception("sweep failed")
            if self._nudged.wait(max(0.0, min(self.follow_every, next_sweep - time.monotonic()))):
                self._nudged.clear()
                next_sweep = time.monotonic()

