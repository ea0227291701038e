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
import base64
import io
import json
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
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.utils import get_topic

from api.messaging.broker import broker_for
from api.messaging.relay import Relay
from api.messaging.results import add_result_consumer
from api.messaging.topics import dead_letter_topic
from bench._broker import LOCAL, broker
from bench._pg import PG, ledger_env, scratch_database
from ledger import Generation, Ledger, Money
from ledger.event_store.follow import Follower
from service.settings.media import MediaSettings
from service.settings.messaging import MessagingSettings
from tests.support.kafka_broker import create_topics, stop_process

ROOT = Path(__file__).resolve().parent.parent
USERS = 100


class FakeCog(ThreadingHTTPServer):
    """A Cog prediction server that answers every prediction at once with a photo-like PNG of the size
    asked (made once per size): the workers then do what they do with a remote model (decode its
    image, compose, encode, store) and none of the art, so their CPU is the remote-model case's."""

    daemon_threads = True

    def __init__(self) -> None:
        self.images: dict[tuple[int, int], str] = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Predictions)

    def image(self, width: int, height: int) -> str:
        """A data URI of a noisy gradient (compresses like a photo, not like flat art)."""
        with self.lock:
            if (width, height) not in self.images:
                from PIL import Image

                noise = Image.effect_noise((width, height), 48).convert("RGB")
                gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
                picture = Image.blend(noise, gradient, 0.5)
                out = io.BytesIO()
                picture.save(out, format="PNG")
                self.images[(width, height)] = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
            return self.images[(width, height)]


class _Predictions(BaseHTTPRequestHandler):
    server: FakeCog

    def do_POST(self) -> None:
        asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
        body = json.dumps({"status": "succeeded", "output": self.server.image(asked["width"], asked["height"]),
                           "metrics": {"predict_time": 0.0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def workers(settings: MediaSettings, count: int, concurrency: int, scale: float,
            folder: Path, cog_url: str | None = None) -> Iterator[list[Path]]:
    """``count`` worker processes of one group, each in its own session; stopped by PID at the end.
    With ``cog_url`` they render through that Cog server instead of the local model."""
    model = {"STUDIO_IMAGE_PROVIDER": "cog", "STUDIO_COG_URL": cog_url} if cog_url else {}
    env = {**os.environ, "STUDIO_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "STUDIO_GENERATION_REQUESTED_TOPIC": settings.generation_requested_topic,
           "STUDIO_GENERATION_COMPLETED_TOPIC": settings.generation_completed_topic,
           "STUDIO_GENERATION_FAILED_TOPIC": settings.generation_failed_topic,
           "STUDIO_WORKER_GROUP": settings.worker_group, "STUDIO_DATA_DIR": str(folder),
           "STUDIO_IMAGE_PROVIDER": "local", "STUDIO_IMAGE_STORE": "local", "STUDIO_LOCAL_SCALE": str(scale),
           "STUDIO_CONSUMER_SESSION_TIMEOUT_MS": "6000", "STUDIO_WORKER_CONCURRENCY": str(concurrency),
           "STUDIO_KAFKA_IDEMPOTENCE": str(settings.kafka_idempotence).lower(), **model}
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


@contextmanager
def results_process(settings: MediaSettings, dbname: str, folder: Path) -> Iterator[tuple[Path, int]]:
    """`studio-ledger results` as its own process, as compose runs it: its log and PID."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")},
           "STUDIO_STORE": "postgres", "STUDIO_POSTGRES_DB": dbname, "STUDIO_POSTGRES_HOST": PG["host"],
           "STUDIO_POSTGRES_PORT": PG["port"], "STUDIO_POSTGRES_USER": PG["user"],
           "STUDIO_POSTGRES_PASSWORD": PG["password"], "STUDIO_POSTGRES_POOL_SIZE": "5",
           "STUDIO_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "STUDIO_GENERATION_REQUESTED_TOPIC": settings.generation_requested_topic,
           "STUDIO_GENERATION_COMPLETED_TOPIC": settings.generation_completed_topic,
           "STUDIO_GENERATION_FAILED_TOPIC": settings.generation_failed_topic,
           "STUDIO_RESULTS_GROUP": settings.results_group,
           "STUDIO_RESULTS_CONCURRENCY": str(settings.results_concurrency),
           "STUDIO_DATA_DIR": str(folder), "STUDIO_CONSUMER_SESSION_TIMEOUT_MS": "6000",
           "STUDIO_KAFKA_IDEMPOTENCE": str(settings.kafka_idempotence).lower()}
    log = folder / "results.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "results"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield log, process.pid
    finally:
        stop_process(process)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def run(args: argparse.Namespace, servers: str, ledger: Ledger, dbname: str, folder: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = MediaSettings(
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
    separate = args.results == "process"
    if not separate:
        add_result_consumer(results, ledger, settings)
    cog = FakeCog() if args.model == "cog" else None
    if cog is not None:
        threading.Thread(target=cog.serve_forever, daemon=True).start()
    cog_url = f"http://127.0.0.1:{cog.server_address[1]}" if cog is not None else None
    with workers(settings, args.workers, args.concurrency, args.scale, folder, cog_url) as logs, \
            (results_process(settings, dbname, folder) if separate else nullcontext((None, 0))) as (results_log, pid):
        await asyncio.to_thread(wait_until_assigned, logs + ([results_log] if results_log else []))
        relaying = asyncio.create_task(relay.run())
        if not separate:
            await results.start()
        on_requested: dict[str, float] = {}
        on_completed: dict[str, float] = {}
        taps = [asyncio.create_task(tap(servers, settings.generation_requested_topic, on_requested)),
                asyncio.create_task(tap(servers, settings.generation_completed_topic, on_completed))]
        watch = Watch(ledger)
        warm = await asyncio.to_thread(offer, ledger, args.warmup, 10, "warm")  # groups settle, caches fill
        await drain(watch, warm, args.drain)
        watch.seen.clear()
        results_cpu = cpu_seconds(pid) if separate else 0.0
        began = time.monotonic()
        committed = await asyncio.to_thread(offer, ledger, args.count, args.rate)
        offered_s = time.monotonic() - began
        await drain(watch, committed, args.drain)
        if separate:
            results_cpu = cpu_seconds(pid) - results_cpu
        watch.follower.stop()
        for task in taps:
            task.cancel()
        if not separate:
            await results.stop()
        relay.stop()
        await relaying
    report(args, committed, watch.seen, offered_s, began)
    stages(committed, on_requested, on_completed, watch.seen)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = args.count + args.warmup
    mine = "relay + requests" if separate else "relay + result consumer + requests"
    print(f"CPU per generation: workers {1000 * (children.ru_utime + children.ru_stime) / total:.1f} ms, "
          f"{mine} {1000 * (own.ru_utime + own.ru_stime) / total:.1f} ms; load average {os.getloadavg()[0]:.1f}")
    if separate:
        print(f"CPU per generation of the result consumer process (measured requests only): "
              f"{1000 * results_cpu / args.count:.2f} ms")


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
    parser.add_argument("--model", choices=("local", "cog"), default="local",
                        help="the workers' model: the local one (art drawn here), or a Cog server in this process "
                             "that answers at once with a photo-like image, to measure a remote model's worker CPU")
    parser.add_argument("--results", choices=("inprocess", "process"), default="inprocess",
                        help="apply the results in this process, or run `studio-ledger results` as its own process "
                             "(then its CPU per generation is printed)")
    args = parser.parse_args()
    with broker(args.bootstrap, args.broker) as servers, scratch_database("studio_bench_generation") as dbname, \
            tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(ledger_env(dbname, pool_size=10))
        try:
            asyncio.run(run(args, servers, ledger, dbname, Path(folder)))
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
