"""The crash campaign's end: wait until the deployment is quiet, then check what it promised.

The ledger's own log is the truth each check compares with: what the load was told (HTTP answers),
what it sent (Kafka messages), what the dead-letter topics hold and what the read side shows.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._chaos_load import Tally
from bench._chaos_money import Recharges
from ledger import Ledger
from ledger.event_store.follow import Follower
from ledger.event_store.tracking import positions_for
from ledger.postings import HOLD_ENDINGS

TERMINAL = ("GenerationCompleted", "GenerationFailed")


@dataclass
class Folded:
    """The facts of the ledger's log the checks need."""

    day: Callable[[datetime], str] = lambda at: at.date().isoformat()  # the policy's day of an instant
    head: int = 0
    users: dict[str, str] = field(default_factory=dict)  # wallet id -> user id
    recharges: Recharges = field(default_factory=Recharges)
    grants: Counter[tuple[str, str]] = field(default_factory=Counter)  # (event type, reference) -> count
    referral_awards: Counter[tuple[str, str]] = field(default_factory=Counter)  # (referral id, role)
    closed: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (event type, reference, user)
    share_bonuses: Counter[tuple[str, str]] = field(default_factory=Counter)  # (user, day)
    requested: dict[str, tuple[str, str]] = field(default_factory=dict)  # generation -> (user, hold id)
    endings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # generation -> endings
    late: Counter[str] = field(default_factory=Counter)
    resolutions: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    failure_reasons: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)

    def apply(self, event: Any) -> None:
        """Fold one domain event."""
        kind = type(event).__name__
        self.events[kind] += 1
        self.recharges.apply(kind, event)
        wallet = str(event.originator_id)
        if kind == "WalletOpened":
            self.users[wallet] = event.user_id
        elif kind in ("CreditsPurchased", "CreditsRedeemed"):
            self.grants[(kind, event.reference)] += 1
        elif kind == "ReferralBonusGranted":
            self.referral_awards[(event.reference, event.role)] += 1
        elif kind in ("PurchaseRefunded", "ReferralReversed"):
            self.closed[(kind, event.reference, self.users.get(wallet, wallet))] += 1
        elif kind == "ShareBonusGranted":
            self.share_bonuses[(self.users.get(wallet, wallet), self.day(event.timestamp))] += 1
        elif kind == "GenerationRequested":
            self.requested[wallet] = (event.user_id, event.hold_id)
        elif kind in TERMINAL:
            self.endings[wallet].append(kind)
            if kind == "GenerationFailed":
                self.failure_reasons[event.reason] += 1
            elif event.late:
                self.late[event.late] += 1
        elif kind in HOLD_ENDINGS:
            self.resolutions[(self.users.get(wallet, wallet), event.hold_id)].append(kind)

    @property
    def unfinished(self) -> list[str]:
        """Generations requested without an ending yet."""
        return [g for g in self.requested if not self.endings.get(g)]


class LogReader:
    """Folds the ledger's log incrementally."""

    def __init__(self, ledger: Ledger, day: Callable[[datetime], str]) -> None:
        self.ledger = ledger
        self.folded = Folded(day=day)
        self.follower = Follower(ledger, page_size=2000)

    def catch_up(self) -> Folded:
        """Fold everything stored so far."""
        while page := self.follower.read():
            for stored in page:
                self.folded.apply(stored.event)
            self.folded.head = page[-1].position
        return self.folded


async def group_lag(servers: str, group: str, topics: list[str]) -> int:
    """Records of ``topics`` that ``group`` has not committed yet."""
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(parts)
        lag = 0
        for tp in parts:
            lag += max(0, ends[tp] - (await consumer.committed(tp) or 0))
        return lag
    finally:
        await consumer.stop()


async def read_all(servers: str, topic: str) -> list[Any]:
    """Every record of ``topic`` now (no group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not parts:
            return []
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        records: list[Any] = []
        async with asyncio.timeout(60):
            while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=500)
                records += [r for rs in batch.values() for r in rs]
        return records
    finally:
        await consumer.stop()


async def wait_quiet(reader: LogReader, servers: str, groups: dict[str, list[str]], relay: str,
                     projected: Any, *, within: float) -> tuple[bool, str]:
    """Wait until the relay and the projections reached the head, every group committed everything and
    every generation ended, twice in a row; (True, "") or (False, what was still moving)."""
    deadline = time.monotonic() + within
    calm = 0
    state = ""
    while time.monotonic() < deadline:
        folded = await asyncio.to_thread(reader.catch_up)
        head = await asyncio.to_thread(lambda: reader.ledger.recorder.max_notification_id() or 0)
        relayed = await asyncio.to_thread(positions_for(reader.ledger.recorder).get, relay)
        lags = {g: await group_lag(servers, g, topics) for g, topics in groups.items()}
        seen = await asyncio.to_thread(projected)
        state = (f"head {head}, relay {relayed}, projections {seen}, unfinished {len(folded.unfinished)}, "
                 f"group lag {lags}")
        quiet = relayed >= head and seen >= head and not folded.unfinished and not any(lags.values())
        calm = calm + 1 if quiet else 0
        if calm >= 2:
            return True, state
        await asyncio.sleep(2.0)
    return False, state


def check(folded: Folded, tally: Tally, dead: dict[str, list[tuple[str, str]]], galleries: dict[str, set[str]],
          held: dict[str, int], cap: int) -> list[str]:
    """Every broken promise, one line each (empty: all kept)."""
    findings: list[str] = []

    def once(what: str, counts: dict[str, int]) -> None:
        wrong = {k: n for k, n in counts.items() if n != 1}
        if wrong:
            findings.append(f"{what} not applied exactly once: {len(wrong)}, e.g. {sorted(wrong.items())[:3]}")

    once("purchases", {p: folded.grants[("CreditsPurchased", p)] for p in tally.payments})
    once("redemptions", {r: folded.grants[("CreditsRedeemed", r)] for r in tally.redemptions})
    once("referral bonuses (referrer)", {r: folded.referral_awards[(r, "referrer")] for r in tally.referrals})
    once("referral bonuses (referee)", {r: folded.referral_awards[(r, "referee")] for r in tally.referrals})
    once("refunds", {p: folded.closed[("PurchaseRefunded", p, tally.payments[p])] for p in tally.refunds})
    once("referral reversals", {f"{r} of {user}": folded.closed[("ReferralReversed", r, user)]
                                for r in tally.reversals for user in tally.referrals[r]})
    strays = [ref for (_, ref) in folded.grants if ref in tally.malformed]
    if strays:
        findings.append(f"malformed messages applied: {strays[:5]}")

    ids = set(tally.generations.values())
    missing = ids - set(folded.requested)
    if missing:
        findings.append(f"generations answered 202 but not in the ledger: {sorted(missing)[:3]}")
    once("generation endings", {g: len(folded.endings.get(g, [])) for g in folded.requested})
    once("generation hold resolutions", {g: len(folded.resolutions.get((user, hold), []))
                                         for g, (user, hold) in folded.requested.items()})
    completed: dict[str, set[str]] = defaultdict(set)
    for g, (user, _) in folded.requested.items():
        if folded.endings.get(g) == ["GenerationCompleted"]:
            completed[user].add(g)
    for user in set(completed) | set(galleries):
        if completed.get(user, set()) != galleries.get(user, set()):
            findings.append(f"gallery of {user} differs from the ledger: {len(galleries.get(user, set()))} shown, "
                            f"{len(completed.get(user, set()))} completed")
    stuck = {who: n for who, n in held.items() if n}
    if stuck:
        findings.append(f"credits still held: {stuck}")

    for key, (topic, reason) in tally.malformed.items():
        got = dead.get(key, [])
        if not got:
            findings.append(f"malformed message {key} on {topic} not dead-lettered")
        elif any(r != reason for _, r in got):
            findings.append(f"malformed message {key} dead-lettered as {got}, expected {reason}")
    lost = sorted((k, topic, reason) for k, got in dead.items() if k not in tally.malformed for topic, reason in got)
    if lost:
        findings.append(f"valid messages dead-lettered: {len(lost)}, e.g. {lost[:3]}")

    both = [k for k, statuses in tally.answers.items() if 202 in statuses and 409 in statuses]
    if both:
        findings.append(f"keys answered both 202 and 409: {len(both)} of {len(tally.answers)}, e.g. {both[:3]}")
    if tally.unanswered:
        findings.append(f"requests without a final answer within the retry budget: {tally.unanswered[:3]}")
    over = {k: n for k, n in folded.share_bonuses.items() if n > cap}
    if over:
        findings.append(f"share bonus cap {cap}/day exceeded: {sorted(over.items())[:5]}")
    return findings


def server_errors_outside(errors: list[tuple[float, str, int, int]], downtime: dict[int, list[tuple[float, float]]],
                          grace: float = 1.0) -> list[tuple[float, str, int, int]]:
    """The 5xx answers a replica gave while it was up."""
    return [e for e in errors
            if not any(start - grace <= e[0] <= end + grace for start, end in downtime.get(e[3], []))]
