"""Relay throughput and lag: ledger events in PostgreSQL published to a local Kafka-protocol broker.

    .venv/bin/python bench/relay_throughput.py [--events 100000] [--rate 1000] [--live-seconds 10]
                                               [--repeat 3] [--bootstrap host:port]

Measures in one run, on one scratch PostgreSQL database and one broker (a local noida-db broker
started from its wheel unless --bootstrap is given):
  1. writes N wallet events straight into the store (many wallets saved per transaction, 2 threads);
  2. the relay publishes all of them to a fresh topic: events/s from start to the last acknowledged page;
  3. the same payloads (same keys, values, headers) from a bare aiokafka producer with the same settings
     to another fresh topic: events/s (sending only: the payloads are prepared beforehand);
     2 and 3 alternate --repeat times; the medians and their ratio relay / bare are printed;
  4. live load: a writer commits --rate events/s for --live-seconds while the relay runs; the lag of an
     event is the time from its commit to the relay's acknowledged position passing it: p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import AIOKafkaProducer

from api.messaging.envelope import records
from api.messaging.relay import NotificationFollower, Relay, producer_options
from bench._broker import broker
from bench._pg import ledger_env, scratch_database
from ledger import Ledger, Wallet, wallet_id
from service.settings.messaging import MessagingSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS_PER_WALLET = 100
WALLETS_PER_SAVE = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def wallet_with_events(user: str, count: int) -> Wallet:
    """A new wallet with ``count`` events: opened, then promo grants."""
    wallet = Wallet.open(wallet_id(user), user, T0)
    for i in range(count - 1):
        wallet.grant(Wallet.PromoCreditsGranted, grant_id=f"{user}-{i}", amount=1, at=T0 + timedelta(seconds=i),
                     reference=f"{user}-{i}", reason="bench")
    return wallet


def fill(ledger: Ledger, events: int, threads: int = 2) -> float:
    """Store ``events`` wallet events (many wallets per transaction, from ``threads`` threads); seconds taken."""
    wallets = events // EVENTS_PER_WALLET
    started = time.perf_counter()

    def work(part: int) -> None:
        mine = range(part, wallets, threads)
        for first in range(0, len(mine), WALLETS_PER_SAVE):
            batch = [wallet_with_events(f"bench-{w}", EVENTS_PER_WALLET) for w in mine[first:first + WALLETS_PER_SAVE]]
            ledger.save(*batch)

    workers = [threading.Thread(target=work, args=(p,)) for p in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started


def settings_for(servers: str) -> MessagingSettings:
    return MessagingSettings(kafka_bootstrap_servers=servers,
                             events_topic=f"bench.ledger.events.{uuid.uuid4().hex[:8]}",
                             generation_requested_topic=f"bench.generation.requested.{uuid.uuid4().hex[:8]}",
                             relay_name=f"bench-{uuid.uuid4().hex[:8]}")


async def relay_until(relay: Relay, position: int) -> float:
    """Run the relay until it acknowledged ``position``; seconds taken."""
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    while relay.position < position:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    relay.stop()
    await task
    return elapsed


async def bare_producer(ledger: Ledger, settings: MessagingSettings) -> tuple[int, float]:
    """Send every stored event's record with a bare producer; (records, seconds) for the sending alone."""
    topic = f"bench.bare.{uuid.uuid4().hex[:8]}"
    prepared = [(key, value, headers) for stored in NotificationFollower(ledger).read(limit=10_000_000)
                for _, key, value, headers in records(stored.event)]
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        started = time.perf_counter()
        sent = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in prepared]
        await asyncio.gather(*sent)
        return len(prepared), time.perf_counter() - started
    finally:
        await producer.stop()


async def live_lag(ledger: Ledger, settings: MessagingSettings, rate: int,
                   seconds: float) -> tuple[list[float], float]:
    """Lags (seconds) of events committed at ``rate`` per second while the relay runs, and the rate achieved."""
    relay = Relay(ledger, settings)
    task = asyncio.create_task(relay.run())
    while relay.position < (ledger.recorder.max_notification_id() or 0):
        await asyncio.sleep(0.01)
    committed: list[tuple[int, float]] = []
    tick, per_tick = 0.01, max(1, rate // 100)

    def write() -> None:
        n, next_at, stop = 0, time.perf_counter(), time.perf_counter() + seconds
        while time.perf_counter() < stop:
            if n % EVENTS_PER_WALLET == 0:  # a fresh wallet now and then keeps each save small
                wallet = Wallet.open(wallet_id(f"live-{uuid.uuid4().hex}"), "live", T0)
            for _ in range(per_tick):
                wallet.grant(Wallet.PromoCreditsGranted, grant_id=f"live-{n}", amount=1, at=T0 + timedelta(seconds=n),
                             reference=f"live-{n}", reason="bench")
                n += 1
            saved = ledger.save(wallet)
            now = time.perf_counter()
            committed.extend((r.notification.id, now) for r in saved)
            next_at += tick
            time.sleep(max(0.0, next_at - time.perf_counter()))

    writer = threading.Thread(target=write)
    writer.start()
    acked: list[tuple[int, float]] = []
    while writer.is_alive() or relay.position < max((p for p, _ in committed), default=0):
        if not acked or acked[-1][0] != relay.position:
            acked.append((relay.position, time.perf_counter()))
        await asyncio.sleep(0.001)
    acked.append((relay.position, time.perf_counter()))
    relay.stop()
    await task
    writer.join()
    lags, i = [], 0
    for position, at in sorted(committed):
        while acked[i][0] < position:
            i += 1
        lags.append(max(0.0, acked[i][1] - at))
    return lags, len(committed) / seconds


async def run(args: argparse.Namespace, servers: str, ledger: Ledger) -> None:
    filled = fill(ledger, args.events)
    head = ledger.recorder.max_notification_id() or 0
    print(f"stored {head:,} events in {filled:.1f} s ({head / filled:,.0f}/s); load average {os.getloadavg()[0]:.1f}")
    relay_rates, bare_rates = [], []
    for attempt in range(1, args.repeat + 1):
        settings = settings_for(servers)  # a fresh relay name and topic: the relay starts from position 0
        relay = Relay(ledger, settings)
        relay_s = await relay_until(relay, head)
        sent, bare_s = await bare_producer(ledger, settings)
        relay_rates.append(relay.published / relay_s)
        bare_rates.append(sent / bare_s)
        print(f"run {attempt}: relay {relay.published:,} records in {relay_s:.2f} s = {relay_rates[-1]:,.0f}/s; "
              f"bare aiokafka producer {sent:,} in {bare_s:.2f} s = {bare_rates[-1]:,.0f}/s")
    relay_rate, bare_rate = statistics.median(relay_rates), statistics.median(bare_rates)
    print(f"median: relay {relay_rate:,.0f} events/s, bare {bare_rate:,.0f} events/s, "
          f"ratio {relay_rate / bare_rate:.2f} (target >= 0.5)")
    lags, achieved = await live_lag(ledger, settings_for(servers), args.rate, args.live_seconds)
    print(f"live load {args.rate}/s asked, {achieved:,.0f}/s committed for {args.live_seconds:.0f} s "
          f"({len(lags):,} events): relay lag p50 {percentile(lags, 0.5) * 1000:.1f} ms, "
          f"p99 {percentile(lags, 0.99) * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms (target p99 <= 100 ms); "
          f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1000, help="live load, events per second")
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3, help="relay and bare producer runs, alternating")
    parser.add_argument("--bootstrap", default=None, help="an existing broker instead of a local one")
    args = parser.parse_args()
    with broker(args.bootstrap) as servers, scratch_database("studio_bench_relay") as dbname:
        ledger = Ledger(ledger_env(dbname))
        try:
            asyncio.run(run(args, servers, ledger))
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
