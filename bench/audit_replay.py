"""Benchmark: `audit verify` over 1,000,000 stored events in PostgreSQL, against the floor.

Loads N events over W wallets into a scratch PostgreSQL database, made by the real Wallet,
Generation and Reference aggregates (so every hash chain is valid) and written with COPY from two
loader processes. Then times the audit's full verification (no projection diff)
and the floor: reading the same rows and a plain ``json.loads`` + dict-update fold of their payloads.

    .venv/bin/python bench/audit_replay.py                     # 1,000,000 events, 10,000 wallets
    .venv/bin/python bench/audit_replay.py --events 100000 --wallets 1000

Both ways the CLI offers are timed: one process, then ``--workers N`` (default: one per core).
``--runs 3`` times them and the floor three times over the same log and prints the medians;
``--keep`` keeps the loaded database and ``--reuse <name>`` times it again without loading.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from bench._pg import PG
from ledger import Ledger, Money, generation_id, wallet_id
from ledger.generation import Generation
from ledger.reference import Reference
from ledger.steps import derived_grant_id
from ledger.values import digest
from ledger.wallet import Wallet
from projections.audit.stored import rows
from projections.audit.verify import run_verify

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(minutes=15)


def env_for(dbname: str) -> dict[str, str]:
    """The eventsourcing settings for a ledger in ``dbname``."""
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": dbname, "POSTGRES_HOST": PG["host"],
            "POSTGRES_PORT": PG["port"], "POSTGRES_USER": PG["user"], "POSTGRES_PASSWORD": PG["password"],
            "POSTGRES_POOL_SIZE": "2"}


class Customer:
    """One user's life on the ledger, one step at a time: buy, generate, sometimes fail."""

    def __init__(self, user: str, rng: random.Random) -> None:
        self.user, self.rng = user, rng
        self.at = T0 + timedelta(seconds=rng.randrange(86_400))
        self.wallet = Wallet.open(wallet_id(user), user, self.at)
        self.pending: Generation | None = None
        self.count = 0

    def step(self) -> list[Any]:
        """The aggregates' events of this user's next action."""
        self.at += timedelta(minutes=1)
        if self.pending is not None:
            return self._finish(self.pending)
        cost = self.rng.choice((5, 10, 15))
        if self.wallet.available(self.at) < cost:
            return self._buy()
        gen_id = generation_id(self.user, f"k{self.count}")
        fields = {"template_id": "poster", "template_version": 1, "variables": {"name": self.user},
                  "input_image": None, "cost": cost}
        self.wallet.place_hold(hold_id=str(gen_id), amount=cost, expires_at=self.at + TTL, at=self.at,
                               meta={"generation_id": str(gen_id)})
        self.pending = Generation.request(gen_id, at=self.at, user_id=self.user, wallet_id=self.wallet.id,
                                          hold_id=str(gen_id), expires_at=self.at + TTL, digest=digest(fields),
                                          **fields)
        return self._events(self.wallet, self.pending)

    def _buy(self) -> list[Any]:
        payment = f"pay-{self.user}-{self.count}"
        grant_id = derived_grant_id("payment", payment, user_id=self.user)
        self.wallet.grant(Wallet.CreditsPurchased, grant_id=grant_id, amount=100, at=self.at, reference=payment,
                          price=Money(9900, "INR"), pack_id="starter", expires_at=None)
        reference = Reference.record("payment", payment, digest({"payment": payment}), {str(self.wallet.id): grant_id},
                                     timestamp=self.at)
        return self._events(self.wallet, reference)

    def _finish(self, gen: Generation) -> list[Any]:
        self.pending = None
        if self.rng.random() < 0.1:
            gen.fail(reason="model unavailable", retryable=True, at=self.at)
            self.wallet.release(hold_id=gen.hold_id, at=self.at)
        else:
            gen.complete(at=self.at, captured=gen.cost, late="", image_url=f"file:///{gen.id}.png",
                         storage_id=str(gen.id), provider="local", model="poster-v1", seed=self.count, timings={})
            self.wallet.capture(hold_id=gen.hold_id, amount=gen.cost, at=self.at)
        return self._events(gen, self.wallet)

    def _events(self, *aggregates: Any) -> list[Any]:
        events = [e for a in aggregates for e in a.collect_events()]
        self.count += len(events)
        return events


def load(dbname: str, users: list[str], per_wallet: int, seed: int) -> int:
    """Write every event of ``users`` with COPY, interleaving their steps; the number written."""
    app = Ledger({**env_for(dbname), "CREATE_TABLE": "false"})  # created once by main()
    rng = random.Random(seed)
    customers = [Customer(u, rng) for u in users]
    written = 0
    copy_sql = sql.SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN").format(
        sql.Identifier("ledger_events"))
    with psycopg.connect(dbname=dbname, **PG) as conn, conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for event in _interleave(customers, per_wallet):
            stored = app.mapper.to_stored_event(event)
            copy.write_row((stored.originator_id, stored.originator_version, stored.topic, stored.state))
            written += 1
    app.close()
    return written


def _interleave(customers: list[Customer], per_wallet: int) -> Iterator[Any]:
    for c in customers:
        yield from c._events(c.wallet)
    active = list(customers)
    while active:
        for c in active:
            yield from c.step()
        active = [c for c in active if c.count < per_wallet or c.pending is not None]


def floor(app: Ledger) -> tuple[int, float, float]:
    """Read every row and fold its JSON payload into a dict per aggregate: the least a replay can do.

    Returns the rows read, the seconds taken and the CPU seconds this process spent."""
    started, cpu = time.perf_counter(), time.process_time()
    states: dict[str, dict[str, Any]] = {}
    n = 0
    for page in rows(app):
        for row in page:
            state = states.get(row.originator_id)
            if state is None:
                state = states[row.originator_id] = {}
            state.update(json.loads(row.state))
            n += 1
    return n, time.perf_counter() - started, time.process_time() - cpu


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Load, then time verify and the floor ``--runs`` times, print the figures and their medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--loaders", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for the second audit verify run (1: skip it)")
    parser.add_argument("--runs", type=int, default=1, help="timed rounds over the same log (medians printed)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", metavar="DB", help="time a database an earlier --keep run loaded (kept)")
    args = parser.parse_args()
    if args.events < args.wallets * 4:
        parser.error("--events must be at least 4 per wallet")
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    if args.reuse is not None and not args.reuse.startswith("studio_bench_audit_"):
        parser.error("--reuse takes the name of a database this benchmark kept (studio_bench_audit_...)")
    dbname = args.reuse or f"studio_bench_audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        if args.reuse is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        elif admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
            parser.error(f"no database {dbname} to reuse")
    try:
        if args.reuse is None:
            populate(dbname, args.events, args.wallets, args.loaders)
        rounds = [timed_round(dbname, args.workers) for _ in range(args.runs)]
        if args.runs > 1:
            print_medians(rounds)
        if any(problems for r in rounds for problems in r["problems"]):
            sys.exit(1)
    finally:
        if not args.keep and args.reuse is None:
            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        elif args.reuse is None:
            print(f"kept {dbname} (time it again with --reuse {dbname})")


def populate(dbname: str, events: int, wallets: int, loaders: int) -> None:
    """Create the tables and write the log with ``loaders`` processes."""
    Ledger(env_for(dbname)).close()  # creates the tables
    users = [f"user-{i:06d}" for i in range(wallets)]
    started = time.perf_counter()
    chunks = [users[i::loaders] for i in range(loaders)]
    with multiprocessing.get_context("spawn").Pool(loaders) as pool:
        loaded = sum(pool.starmap(load, [(dbname, c, events // wallets, i) for i, c in enumerate(chunks)]))
    with psycopg.connect(dbname=dbname, autocommit=True, **PG) as conn:
        conn.execute("VACUUM ANALYZE ledger_events")
    print(f"loaded {loaded:,} events over {wallets:,} wallets in {time.perf_counter() - started:.1f}s")


def timed_round(dbname: str, workers: int) -> dict[str, Any]:
    """One process, ``workers`` processes, then the floor, over the same log; prints and returns the figures."""
    app = Ledger(env_for(dbname))
    print(f"load average before timing: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    cpu = time.process_time()
    single = run_verify(app)
    audit_cpu, audit_rss = time.process_time() - cpu, peak_rss_mb()
    split = run_verify(app, workers=workers) if workers > 1 else None
    n, seconds, floor_cpu = floor(app)
    app.close()
    floor_rate = n / seconds
    print(f"audit verify, 1 process: {single.events:,} events in {single.seconds:.2f}s = "
          f"{single.events / single.seconds:,.0f} events/s, {single.problems} findings, "
          f"peak RSS {audit_rss:.0f} MB, CPU {audit_cpu:.2f}s = {audit_cpu / single.events * 1e6:.1f} us/event")
    figures: dict[str, Any] = {"single": single.events / single.seconds / floor_rate,
                               "single_cpu": floor_cpu / audit_cpu, "problems": [single.problems]}
    if split is not None:
        busiest = max(split.cpu_seconds)
        print(f"audit verify --workers {workers}: {split.events:,} events in {split.seconds:.2f}s = "
              f"{split.events / split.seconds:,.0f} events/s, {split.problems} findings, "
              f"peak RSS {max(split.peak_rss_mb):.0f} MB per worker, rows read per worker "
              f"{', '.join(f'{r:,}' for r in split.rows_read)}, CPU per worker "
              f"{', '.join(f'{c:.2f}s' for c in split.cpu_seconds)}")
        figures.update(split=split.events / split.seconds / floor_rate, split_cpu=floor_cpu / busiest,
                       rss=max(split.peak_rss_mb))
        figures["problems"].append(split.problems)
    print(f"floor (read + json.loads + dict update): {n:,} events in {seconds:.2f}s = {floor_rate:,.0f} events/s, "
          f"CPU {floor_cpu:.2f}s = {floor_cpu / n * 1e6:.1f} us/event")
    print(f"ratio audit/floor, wall: 1 process {figures['single']:.2f}"
          + (f", {workers} workers {figures['split']:.2f}" if split else "")
          + f"; by CPU (floor CPU / the busiest process's CPU): 1 process {figures['single_cpu']:.2f}"
          + (f", {workers} workers {figures['split_cpu']:.2f}" if split else "")
          + f"; peak RSS (whole run, floor included) {peak_rss_mb():.0f} MB")
    for report in (single, split):
        if report is not None and not report.ok:
            print(report.text())
    return figures


def print_medians(rounds: list[dict[str, Any]]) -> None:
    """The median of each ratio over the rounds."""
    keys = [k for k in ("single", "split", "single_cpu", "split_cpu") if k in rounds[0]]
    print("medians over " + f"{len(rounds)} rounds: " + ", ".join(
        f"{k} {statistics.median(r[k] for r in rounds):.2f}" for k in keys))


if __name__ == "__main__":
    main()
