"""Generation pipeline latency: requests through PostgreSQL, the relay, Kafka, workers and the result consumer.

One run on a scratch PostgreSQL database and a Kafka-protocol broker (``--bootstrap``, else a local
Tansu broker, or noida-db with ``--broker noida``): ``--count`` generation requests offered at ``--rate`` per second
(each one ``Ledger.request_generation``: hold + request in one transaction), published by the
relay to ``generation.requested``, rendered by ``--workers`` ``studio-ledger worker`` processes with
the local Pillow model into local files, answered on ``generation.completed`` and applied by the
result consumer (capture). Latency is from the request's commit to the moment the completed
generation is in the ledger (seen through the ledger's own notification log); the model's own
time plus the compositor's (``timings.model`` + ``timings.compose``) is reported separately, and
overhead = latency - that render time.

    .venv/bin/python bench/generation_pipeline.py --count 1000 --rate 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.utils import get_topic

from api.messaging.broker import broker_for
from api.messaging.relay import Relay
from api.messaging.results import add_result_consumer
from api.messaging.topics import dead_letter_topic
from bench._broker import LOCAL, broker
from bench._pg import ledger_env, scratch_database
from ledger import Generation, Ledger, Money
from ledger.store.follow import Follower
from service.settings.generation import GenerationSettings
from service.settings.messaging import MessagingSettings
from tests.kafka_broker import create_topics

ROOT = Path(__file__).resolve().parent.parent
USERS = 100


@contextmanager
def workers(settings: GenerationSettings, count: int, concurrency: int, scale: float,
            folder: Path) -> Iterator[list[Path]]:
    """``count`` worker processes of one group, each in its own session; stopped by PID at the end."""
    env = {**os.environ, "STUDIO_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "STUDIO_GENERATION_REQUESTED_TOPIC": settings.generation_requested_topic,
           "STUDIO_GENERATION_COMPLETED_TOPIC": settings.generation_completed_topic,
           "STUDIO_GENERATION_FAILED_TOPIC": settings.generation_failed_topic,
           "STUDIO_WORKER_GROUP": settings.worker_group, "STUDIO_DATA_DIR": str(folder),
           "STUDIO_IMAGE_PROVIDER": "local", "STUDIO_IMAGE_STORE": "local", "STUDIO_LOCAL_SCALE": str(scale),
           "STUDIO_CONSUMER_SESSION_TIMEOUT_MS": "6000", "STUDIO_WORKER_CONCURRENCY": str(concurrency),
           "STUDIO_KAFKA_IDEMPOTENCE": str(settings.kafka_idempotence).lower()}
    logs = [folder / f"worker-{n}.log" for n in range(count)]
    processes = []
    for log in logs:
        with log.open("wb") as out:
            processes.append(subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, env=env,
                                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    try:
        yield logs
    finally:
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def wait_until_assigned(logs: list[Path], within: float = 60.0) -> None:
    """Block until every worker reported a partition assignment."""
    deadline = time.monotonic() + within
    while not all(b"assigned to partitions" in log.read_bytes() for log in logs):  # each member logs it
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not join the group: " + logs[0].read_text(errors="replace")[-2000:])
        time.sleep(0.2)
    time.sleep(2.0)  # let the last rebalance settle


async def tap(servers: str, topic: str, arrivals: dict[str, float]) -> None:
    """Note when each key first appears on ``topic`` (a plain consumer, outside any group; the topics
    are new for each run, so reading from the start sees every record)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest", fetch_max_wait_ms=20)
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=50)
            now = time.monotonic()
            for records in batch.values():
                for record in records:
                    arrivals.setdefault(record.key.decode(), now)
    finally:
        await consumer.stop()


class Watch:
    """Notes when each generation's ending reaches the ledger, following its notification log."""

    def __init__(self, ledger: Ledger) -> None:
        self.seen: dict[str, tuple[float, Any]] = {}
        self.follower = Follower(ledger, after=ledger.recorder.max_notification_id() or 0, topics=[
            get_topic(Generation.GenerationCompleted), get_topic(Generation.GenerationFailed)])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for page in self.follower.pages():
            now = time.monotonic()
            for stored in page:
                self.seen[str(stored.event.originator_id)] = (now, stored.event)


def offer(ledger: Ledger, count: int, rate: float, prefix: str = "r") -> dict[str, float]:
    """Request ``count`` generations at ``rate`` per second; the commit time of each, by generation id."""
    committed: dict[str, float] = {}
    start = time.monotonic()
    for n in range(count):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        outcome = ledger.request_generation(
            user_id=f"user-{n % USERS}", request_key=f"{prefix}{n}", template_id="teaser-banner", template_version=1,
            variables={"event": f"Data Day {n}", "date": "May 3"}, input_image=None, cost=3,
            at=datetime.now(UTC))
        committed[str(outcome.value)] = time.monotonic()
    return committed


async def drain(watch: Watch, committed: dict[str, float], within: float) -> None:
    """Wait until every committed request has its ending in the ledger, or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while any(g not in watch.seen for g in committed) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace, servers: str, ledger: Ledger, folder: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = GenerationSettings(
        kafka_bootstrap_servers=servers, data_dir=folder, generation_requested_topic=f"bench.requested.{suffix}",
        generation_completed_topic=f"bench.completed.{suffix}", generation_failed_topic=f"bench.failed.{suffix}",
        worker_group=f"bench-workers-{suffix}", results_group=f"bench-results-{suffix}",
        consumer_session_timeout_ms=6000, results_concurrency=args.concurrency,
        kafka_idempotence=args.broker != "tansu")  # Tansu has no idempotent producer for aiokafka
    await create_topics(servers, settings.generation_requested_topic, partitions=args.workers * args.concurrency)
    await create_topics(servers, settings.generation_completed_topic, settings.generation_failed_topic,
                        partitions=args.concurrency)
    await create_topics(servers, *(dead_letter_topic(t) for t in (settings.generation_requested_topic,
                        settings.generation_completed_topic, settings.generation_failed_topic)), partitions=1)
    for n in range(USERS):
        await asyncio.to_thread(ledger.purchase, user_id=f"user-{n}", payment_id=f"pay-{n}", pack_id="bench",
                                amount=100_000, price=Money(100_000, "INR"), at=datetime.now(UTC))
    relay = Relay(ledger, MessagingSettings(kafka_bootstrap_servers=servers, events_topic=f"bench.events.{suffix}",
                                            generation_requested_topic=settings.generation_requested_topic,
                                            relay_name=f"bench-relay-{suffix}",
                                            kafka_idempotence=settings.kafka_idempotence))
    results = broker_for(settings)
    add_result_consumer(results, ledger, settings)
    with workers(settings, args.workers, args.concurrency, args.scale, folder) as logs:
        await asyncio.to_thread(wait_until_assigned, logs)
        relaying = asyncio.create_task(relay.run())
        await results.start()
        on_requested: dict[str, float] = {}
        on_completed: dict[str, float] = {}
        taps = [asyncio.create_task(tap(servers, settings.generation_requested_topic, on_requested)),
                asyncio.create_task(tap(servers, settings.generation_completed_topic, on_completed))]
        watch = Watch(ledger)
        warm = await asyncio.to_thread(offer, ledger, args.warmup, 10, "warm")  # groups settle, caches fill
        await drain(watch, warm, args.drain)
        watch.seen.clear()
        began = time.monotonic()
        committed = await asyncio.to_thread(offer, ledger, args.count, args.rate)
        offered_s = time.monotonic() - began
        await drain(watch, committed, args.drain)
        watch.follower.stop()
        for task in taps:
            task.cancel()
        await results.stop()
        relay.stop()
        await relaying
    report(args, committed, watch.seen, offered_s, began)
    stages(committed, on_requested, on_completed, watch.seen)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = args.count + args.warmup
    print(f"CPU per generation: workers {1000 * (children.ru_utime + children.ru_stime) / total:.1f} ms, "
          f"relay + result consumer + requests {1000 * (own.ru_utime + own.ru_stime) / total:.1f} ms; "
          f"load average {os.getloadavg()[0]:.1f}")


def report(args: argparse.Namespace, committed: dict[str, float], seen: dict[str, tuple[float, Any]],
           offered_s: float, began: float) -> None:
    done = [g for g in committed if g in seen and isinstance(seen[g][1], Generation.GenerationCompleted)]
    failed = [g for g in committed if g in seen and not isinstance(seen[g][1], Generation.GenerationCompleted)]
    latency = [seen[g][0] - committed[g] for g in done]
    # the render is the model's art plus the compositor setting the text: image work, not pipeline overhead
    model = [float(seen[g][1].timings.get("model", 0.0)) + float(seen[g][1].timings.get("compose", 0.0))
             for g in done]
    overhead = [a - b for a, b in zip(latency, model, strict=True)]
    finished_s = max(seen[g][0] for g in done) - began if done else float("nan")
    print(f"offered {len(committed)} requests in {offered_s:.1f} s = {len(committed) / offered_s:.1f}/s "
          f"(target {args.rate}/s); {len(done)} completed, {len(failed)} failed, "
          f"{len(committed) - len(done) - len(failed)} missing")
    print(f"completed throughput: {len(done) / finished_s:.1f}/s over {finished_s:.1f} s, {args.workers} workers")
    if not done:
        return
    print(f"request -> completed latency: p50 {pct(latency, 0.5):.1f} ms, p99 {pct(latency, 0.99):.1f} ms, "
          f"max {1000 * max(latency):.1f} ms")
    print(f"render (model + compose):     p50 {pct(model, 0.5):.1f} ms, p99 {pct(model, 0.99):.1f} ms")
    print(f"pipeline overhead:            p50 {pct(overhead, 0.5):.1f} ms, p99 {pct(overhead, 0.99):.1f} ms, "
          f"mean {1000 * statistics.fmean(overhead):.1f} ms (target p99 <= 250 ms)")


def stages(committed: dict[str, float], on_requested: dict[str, float], on_completed: dict[str, float],
           seen: dict[str, tuple[float, Any]]) -> None:
    """Where the latency goes: relay, worker (queue + render + store), result consumer (ledger)."""
    both = [g for g in committed if g in on_requested and g in on_completed and g in seen]
    if not both:
        return
    relay = [on_requested[g] - committed[g] for g in both]
    work = [on_completed[g] - on_requested[g] for g in both]
    apply = [seen[g][0] - on_completed[g] for g in both]
    print("stages (p50 / p99 ms): "
          f"relay {pct(relay, 0.5):.0f} / {pct(relay, 0.99):.0f}, "
          f"worker {pct(work, 0.5):.0f} / {pct(work, 0.99):.0f}, "
          f"result consumer {pct(apply, 0.5):.0f} / {pct(apply, 0.99):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="generations to request")
    parser.add_argument("--rate", type=float, default=50.0, help="requests offered per second")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (and partitions)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="group members per worker process, and result consumers")
    parser.add_argument("--scale", type=float, default=0.5, help="local model image scale")
    parser.add_argument("--warmup", type=int, default=20, help="requests before measuring (not counted)")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last results")
    parser.add_argument("--bootstrap", default=None, help="an existing broker instead of a local one")
    parser.add_argument("--broker", choices=LOCAL, default="tansu",
                        help="the local broker: tansu holds empty fetches like Apache Kafka; noida-db answers them "
                             "at once, so every idle consumer spins")
    args = parser.parse_args()
    with broker(args.bootstrap, args.broker) as servers, scratch_database("studio_bench_generation") as dbname, \
            tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(ledger_env(dbname, pool_size=10))
        try:
            asyncio.run(run(args, servers, ledger, Path(folder)))
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
