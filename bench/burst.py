"""A burst at one `studio-ledger serve`: do reads stay quick while learners fire uploads and generations?

    .venv/bin/python bench/burst.py [--learners 8] [--concurrency 4] [--seconds 15] [--idle-seconds 5]

Starts `serve` on the embedded default (SQLite, local images) in a scratch folder, with the image pipeline
off (``--pipeline`` renders too, so the two cores also go to drawing) and the upload quota raised so
uploads keep being decoded for the whole burst. Funds ``--learners`` learners through the signed webhook and
gives each one photo, then:

1. idle: one reader per learner, reading in a closed loop (GET /v1/wallet, /v1/templates, /readyz in turn,
   20 ms apart) for ``--idle-seconds``: the baseline; the readers run in a process of their own, so the
   writers' client work never delays a read's clock;
2. burst: the same readers, while each learner also runs ``--concurrency`` loops each firing an upload, a
   photo generation (its photo's upload id) and a poster generation, for ``--seconds``.

Prints per route the requests answered (2xx), refused (4xx: 429 past a learner's limit, 402 once the
credits are spent), failed (5xx) and unanswered (no answer within ``--timeout`` seconds), with p50 and
p99; then reads p99 during the burst against the idle baseline, and whether the target held (nothing
unanswered, reads p99 within ``--target-ms``). The load generator runs on the same machine: its CPU is
part of the picture, as is the load average printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.http.signatures import sign
from service.auth import issue_token
from service.settings.api import EMBEDDED_JWT_SECRET, EMBEDDED_WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parent.parent
READS = ("/v1/wallet", "/v1/templates", "/readyz")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Burst", "date": "today"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def photo(seed: int) -> bytes:
    """A 1600x1200 JPEG of noise (about what a phone photo costs to decode), different per seed."""
    image = Image.effect_noise((1600, 1200), 64).convert("RGB")
    image.paste(Image.new("RGB", (200, 200), random.Random(seed).choice(["teal", "orange", "navy", "plum"])))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def bearer(user: str) -> dict[str, str]:
    token = issue_token(EMBEDDED_JWT_SECRET, user, issuer="studio-ledger", audience="studio-ledger")
    return {"Authorization": f"Bearer {token}"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass
class Tally:
    """Outcomes and latencies per route."""

    outcomes: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def request(self, session: aiohttp.ClientSession, route: str, method: str, url: str, timeout: float,
                      **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            async with session.request(method, url, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs) as answer:
                await answer.read()
                status = answer.status
        except (TimeoutError, aiohttp.ClientError):
            self.outcomes[route]["unanswered"] += 1
            return
        self.seconds[route].append(time.perf_counter() - started)
        self.outcomes[route]["answered" if status < 400 else "refused" if status < 500 else "failed"] += 1

    def reads(self) -> list[float]:
        return [s for route in READS for s in self.seconds.get(f"GET {route}", [])]

    def dump(self) -> str:
        return json.dumps({"outcomes": self.outcomes, "seconds": self.seconds})

    @classmethod
    def load(cls, text: str) -> Tally:
        found, tally = json.loads(text), cls()
        for route, counts in found["outcomes"].items():
            tally.outcomes[route].update(counts)
        tally.seconds.update(found["seconds"])
        return tally


def start_serve(folder: Path, port: int, pipeline: bool) -> subprocess.Popen[bytes]:
    """`serve` in its own session (setsid); only this PID is ever signalled."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_DATA_DIR=str(folder / "data"), STUDIO_PORT=str(port), STUDIO_UPLOAD_QUOTA="1000",
               STUDIO_RUN_PIPELINE="true" if pipeline else "false", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=folder, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=open(folder / "serve.log", "wb"))


async def prepare(session: aiohttp.ClientSession, base: str, learners: list[str], picture: bytes) -> dict[str, str]:
    """Each learner funded with five studio packs and one photo uploaded; their upload ids."""
    uploads = {}
    for user in learners:
        for n in range(5):
            body = json.dumps({"type": "CreditPackPurchased", "payment_id": f"pay-{user}-{n}", "user_id": user,
                               "pack_id": "studio", "amount_minor": 9900, "currency": "INR"}).encode()
            headers = {"Studio-Signature": sign(EMBEDDED_WEBHOOK_SECRET, body, int(time.time())),
                       "Content-Type": "application/json", "Idempotency-Key": f"pay-{user}-{n}"}
            async with session.post(f"{base}/v1/webhooks/payments", data=body, headers=headers) as answer:
                answer.raise_for_status()
        async with session.post(f"{base}/v1/uploads", data=form(picture),
                                headers={**bearer(user), "Idempotency-Key": f"first-{user}"}) as answer:
            answer.raise_for_status()
            uploads[user] = (await answer.json())["upload_id"]
    return uploads


def form(picture: bytes) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("file", picture, filename="me.jpg", content_type="image/jpeg")
    return data


async def read(base: str, learners: list[str], seconds: float, timeout: float) -> Tally:
    """One reader per learner, in a closed loop, for ``seconds``."""
    tally, until = Tally(), time.monotonic() + seconds

    async def reader(session: aiohttp.ClientSession, user: str) -> None:
        n = 0
        while time.monotonic() < until:
            route = READS[n % len(READS)]
            await tally.request(session, f"GET {route}", "GET", f"{base}{route}", timeout, headers=bearer(user))
            n += 1
            await asyncio.sleep(0.02)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(reader(session, user) for user in learners))
    return tally


async def readers(base: str, learners: list[str], seconds: float, timeout: float) -> Tally:
    """``read`` in a process of its own, so the writers' client work never delays a read's clock."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--reader", base, "--learners", str(len(learners)), "--seconds", str(seconds),
        "--timeout", str(timeout), stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the readers' process exited with {process.returncode}")
    return Tally.load(out.decode())


async def writer(session: aiohttp.ClientSession, base: str, tally: Tally, user: str, upload_id: str,
                 picture: bytes, until: float, timeout: float) -> None:
    while time.monotonic() < until:
        headers = {**bearer(user), "Idempotency-Key": uuid.uuid4().hex}
        await tally.request(session, "POST /v1/uploads", "POST", f"{base}/v1/uploads", timeout, headers=headers,
                            data=form(picture))
        profile = {"template_id": "profile-avatar", "variables": {"expression": "smiling"},
                   "input_upload_id": upload_id}
        for body in (profile, POSTER):
            headers = {**bearer(user), "Idempotency-Key": uuid.uuid4().hex}
            await tally.request(session, "POST /v1/generations", "POST", f"{base}/v1/generations", timeout,
                                headers=headers, json=body)


def report(name: str, tally: Tally, seconds: float) -> None:
    print(f"\n{name} ({seconds:.0f} s)")
    print(f"  {'route':<22} {'answered':>9} {'refused':>8} {'failed':>7} {'unanswered':>11} {'p50 ms':>8} "
          f"{'p99 ms':>8}")
    for route in sorted(tally.outcomes):
        counts, spent = tally.outcomes[route], tally.seconds.get(route, [])
        print(f"  {route:<22} {counts['answered']:>9} {counts['refused']:>8} {counts['failed']:>7} "
              f"{counts['unanswered']:>11} {percentile(spent, 0.5):>8.1f} {percentile(spent, 0.99):>8.1f}")


async def run(args: argparse.Namespace, base: str) -> bool:
    learners = [f"learner-{n}" for n in range(args.learners)]
    pictures = [photo(n) for n in range(4)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        uploads = await prepare(session, base, learners, pictures[0])
        idle = await readers(base, learners, args.idle_seconds, args.timeout)
        burst = Tally()
        until = time.monotonic() + args.seconds
        reading = asyncio.ensure_future(readers(base, learners, args.seconds, args.timeout))
        await asyncio.gather(*(writer(session, base, burst, user, uploads[user], pictures[(i + k) % len(pictures)],
                                      until, args.timeout)
                               for i, user in enumerate(learners) for k in range(args.concurrency)))
        read = await reading
    for route, counts in read.outcomes.items():
        burst.outcomes[route].update(counts)
    burst.seconds.update(read.seconds)
    report("idle: reads only", idle, args.idle_seconds)
    report(f"burst: {args.learners} learners x {args.concurrency} writers, and the same readers", burst, args.seconds)
    idle_p99, burst_p99 = percentile(idle.reads(), 0.99), percentile(burst.reads(), 0.99)
    unanswered = sum(c["unanswered"] for c in burst.outcomes.values())
    print(f"\nreads p99: idle {idle_p99:.1f} ms, during the burst {burst_p99:.1f} ms "
          f"({burst_p99 / idle_p99:.1f}x); unanswered during the burst: {unanswered}")
    held = unanswered == 0 and burst_p99 <= args.target_ms
    print(f"target (0 unanswered, reads p99 <= {args.target_ms:g} ms): {'held' if held else 'MISSED'}")
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4, help="writer loops per learner")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the burst")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="length of the idle baseline")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after which a request is unanswered")
    parser.add_argument("--target-ms", type=float, default=200.0, help="reads p99 bound during the burst")
    parser.add_argument("--pipeline", action="store_true", help="render generations in process too")
    parser.add_argument("--reader", metavar="BASE_URL", help=argparse.SUPPRESS)  # the readers' own process
    args = parser.parse_args()
    if args.reader:
        learners = [f"learner-{n}" for n in range(args.learners)]
        print(asyncio.run(read(args.reader, learners, args.seconds, args.timeout)).dump())
        return
    with tempfile.TemporaryDirectory(prefix="burst-") as scratch:
        folder, port = Path(scratch), free_port()
        process = start_serve(folder, port, args.pipeline)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    sys.exit(f"serve stopped: {(folder / 'serve.log').read_text()[-2000:]}")
                time.sleep(0.1)
            held = asyncio.run(run(args, base))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
