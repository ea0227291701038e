"""Ledger throughput on PostgreSQL against the debit table a user would write without us.

    .venv/bin/python bench/ledger_throughput.py [--seconds 6] [--callers 8] [--users 1000]

Measures in one run, side by side on the same database server:
  1. baseline: wallets(user_id, credits) + a transactions table; each debit is a guarded UPDATE plus
     an INSERT in its own transaction, from N concurrent workers, over many users and on one hot user;
  2. the ledger: place-hold + capture pairs over many wallets from N concurrent callers, each
     command counted as one operation;
  3. the ledger on one hot wallet, same callers.
Prints operations/s, p50/p99 latency per operation and the ratios ledger / baseline.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._pg import PG, ledger_env, scratch_database
from ledger import Ledger, Money


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def drive(callers: int, seconds: float, operation: Callable[[int, int], int]) -> tuple[float, list[float]]:
    """Run ``operation(caller, i)`` (returning the operations it did) from each caller until time is up."""
    latencies: list[list[float]] = [[] for _ in range(callers)]
    counts = [0] * callers
    stop = time.perf_counter() + seconds

    def work(caller: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            done = operation(caller, i)
            elapsed = time.perf_counter() - started
            latencies[caller].extend([elapsed / done] * done)
            counts[caller] += done
            i += 1

    threads = [threading.Thread(target=work, args=(c,)) for c in range(callers)]
    begun = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - begun), [x for lat in latencies for x in lat]


def baseline(dbname: str, callers: int, seconds: float, users: int) -> tuple[float, list[float]]:
    """Guarded UPDATE + INSERT per debit, one transaction each."""
    with psycopg.connect(dbname=dbname, autocommit=True, **PG) as conn:
        conn.execute("DROP TABLE IF EXISTS wallets, transactions")
        conn.execute("CREATE TABLE wallets (user_id text PRIMARY KEY, credits bigint NOT NULL)")
        conn.execute("CREATE TABLE transactions (id bigserial PRIMARY KEY, user_id text, amount bigint,"
                     " created_at timestamptz DEFAULT now())")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO wallets VALUES (%s, %s)", [(f"u{i}", 10**12) for i in range(users)])
    connections = [psycopg.connect(dbname=dbname, **PG) for _ in range(callers)]

    def debit(caller: int, i: int) -> int:
        conn = connections[caller]
        user = f"u{random.randrange(users)}"
        with conn.transaction():
            row = conn.execute("UPDATE wallets SET credits = credits - %s WHERE user_id = %s AND credits >= %s"
                               " RETURNING credits", (1, user, 1)).fetchone()
            assert row is not None
            conn.execute("INSERT INTO transactions (user_id, amount) VALUES (%s, %s)", (user, -1))
        return 1

    try:
        return drive(callers, seconds, debit)
    finally:
        for conn in connections:
            conn.close()


def ledger_pairs(ledger: Ledger, callers: int, seconds: float, users: int, tag: str) -> tuple[float, list[float]]:
    """Place a hold and capture it: two commands, two operations."""
    now = datetime.now(UTC)
    expiry = now + timedelta(hours=1)

    def pair(caller: int, i: int) -> int:
        user = f"{tag}{random.randrange(users)}"
        hold = f"{tag}-{caller}-{i}"
        ledger.place_hold(user_id=user, hold_id=hold, amount=1, at=now, expires_at=expiry)
        ledger.capture(user_id=user, hold_id=hold, amount=1, at=now)
        return 2

    return drive(callers, seconds, pair)


def fund(ledger: Ledger, users: int, tag: str) -> None:
    """Give every wallet enough credits for the run, with many commands in flight at once."""
    now = datetime.now(UTC)
    threads = []
    for chunk in range(8):
        def work(chunk: int = chunk) -> None:
            for i in range(chunk, users, 8):
                ledger.purchase(user_id=f"{tag}{i}", payment_id=f"{tag}-fund-{i}", pack_id="bench",
                                amount=10**9, price=Money(10**9, "INR"), at=now)
        threads.append(threading.Thread(target=work))
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def load_times(dbname: str, events: int = 1000, repeats: int = 20) -> tuple[float, float]:
    """Median ms to load a wallet of ``events`` events cold, without and with snapshots."""
    now = datetime.now(UTC)
    env = ledger_env(dbname)
    writer = Ledger(env, group_commit=True)
    writer.purchase(user_id="long", payment_id="long-fund", pack_id="bench", amount=10**6, price=Money(10**6, "INR"),
                    at=now)
    for i in range((events - 2) // 2):
        writer.place_hold(user_id="long", hold_id=f"l{i}", amount=1, at=now, expires_at=now + timedelta(hours=1))
        writer.capture(user_id="long", hold_id=f"l{i}", amount=1, at=now)
    writer.close()
    medians = []
    for snapshots in (False, True):
        reader = Ledger(env)
        if not snapshots:
            reader.repository.snapshot_store = None
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            wallet = reader.wallet("long")
            times.append(time.perf_counter() - started)
            assert wallet is not None and wallet.version >= events - 1
        reader.close()
        medians.append(percentile(times, 0.5) * 1000)
    return medians[0], medians[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()

    with scratch_database("bench_ledger") as dbname:
        rows = []
        base_spread = baseline(dbname, args.callers, args.seconds, args.users)
        base_hot = baseline(dbname, args.callers, args.seconds, 1)
        ledger = Ledger(ledger_env(dbname, pool_size=args.callers + 2), group_commit=True)
        try:
            fund(ledger, args.users, "s")
            fund(ledger, 1, "h")
            spread = ledger_pairs(ledger, args.callers, args.seconds, args.users, "s")
            hot = ledger_pairs(ledger, args.callers, args.seconds, 1, "h")
            assert ledger.committer is not None
            batch = ledger.committer.commands / max(1, ledger.committer.batches)
        finally:
            ledger.close()
        cases = [("baseline debits, 1000 users", base_spread), ("baseline debits, hot user", base_hot),
                 ("ledger hold+capture, 1000 wallets", spread), ("ledger hold+capture, hot wallet", hot)]
        for name, (rate, lat) in cases:
            rows.append(f"{name:<36} {rate:>9.0f} ops/s   p50 {percentile(lat, .5) * 1000:6.2f} ms"
                        f"   p99 {percentile(lat, .99) * 1000:6.2f} ms")
        print(f"PostgreSQL, {args.callers} concurrent callers, {args.seconds:.0f} s per case")
        print("\n".join(rows))
        print(f"mean commands per group commit: {batch:.1f}")
        print(f"ratio ledger / baseline, spread: {spread[0] / base_spread[0]:.2f}   (target >= 1.0)")
        print(f"ratio ledger / baseline, hot:    {hot[0] / base_hot[0]:.2f}   (target >= 1.0)")
        print(f"ledger p99: spread {percentile(spread[1], .99) * 1000:.1f} ms, hot "
              f"{percentile(hot[1], .99) * 1000:.1f} ms   (target <= 50 ms)")
        cold, snap = load_times(dbname)
        print(f"loading a 1,000-event wallet: {cold:.1f} ms from events, {snap:.1f} ms from a snapshot (median)")


if __name__ == "__main__":
    main()
