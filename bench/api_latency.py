"""Read-your-writes latency of the HTTP API on PostgreSQL: a command, then the projection showing it.

    .venv/bin/python bench/api_latency.py [--rate 200] [--seconds 10] [--users 50]

Starts `studio-ledger serve` on a scratch PostgreSQL database (group commit, no image rendering so
that the two cores go to the API) with `studio-ledger projector` and `studio-ledger sweep --loop`
as their own processes, as docker-compose.yml deploys them (``--projector inprocess`` and
``--sweeper inprocess`` run them inside the API process instead, as the embedded default does), funds
the users through the signed webhook, then runs an open loop of commands at ``--rate`` per second: each one is
POST /v1/generations followed by GET /v1/wallet?min_position=<its position>. Reported:
p50/p99 of the command alone, of command -> visible in the projection (both requests), and of
GET /healthz probed during the same run as the floor (the HTTP stack with no work behind it), and
the CPU each process (and PostgreSQL, and the load generator itself) spent per command.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.http.auth import issue_token
from api.http.signatures import sign
from bench._pg import PG, scratch_database

JWT_SECRET = "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
WEBHOOK_SECRET = "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Benchmarks", "date": "today"}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc); a process that is gone counts 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its backends do the ledger's and the reads' SQL)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(dbname: str, port: int, data_dir: Path, projector: str,
                 sweeper: str) -> list[subprocess.Popen[bytes]]:
    """`studio-ledger serve`, with `studio-ledger projector` and `studio-ledger sweep --loop` beside
    it for each of them that is "separate"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_STORE="postgres", STUDIO_POSTGRES_DB=dbname, STUDIO_POSTGRES_HOST=PG["host"],
               STUDIO_POSTGRES_PORT=PG["port"], STUDIO_POSTGRES_USER=PG["user"],
               STUDIO_POSTGRES_PASSWORD=PG["password"], STUDIO_POSTGRES_POOL_SIZE="20",
               STUDIO_DATA_DIR=str(data_dir), STUDIO_PORT=str(port), STUDIO_JWT_SECRET=JWT_SECRET,
               STUDIO_WEBHOOK_SECRET=WEBHOOK_SECRET, STUDIO_MEDIA_SIGNING_KEY=WEBHOOK_SECRET + "-media",
               STUDIO_RUN_PIPELINE="false",
               STUDIO_RUN_PROJECTOR=str(projector == "inprocess").lower(),
               STUDIO_RUN_SWEEPER=str(sweeper == "inprocess").lower())
    cli = str(Path(sys.executable).with_name("studio-ledger"))
    commands = ([[cli, "serve"]] + ([[cli, "projector"]] if projector == "separate" else [])
                + ([[cli, "sweep", "--loop"]] if sweeper == "separate" else []))
    processes = []
    for command in commands:
        with (data_dir / f"{command[1]}.log").open("wb") as log:
            processes.append(subprocess.Popen(command, env=env, start_new_session=True, stdout=log,
                                              stderr=subprocess.STDOUT))
    return processes


async def fund(client: aiohttp.ClientSession, users: list[str]) -> None:
    for user in users:
        for n in range(2):
            body = json.dumps({"type": "CreditPackPurchased", "payment_id": f"{user}-{n}", "user_id": user,
                               "pack_id": "studio", "amount_minor": 9900, "currency": "INR"}).encode()
            headers = {"Studio-Signature": sign(WEBHOOK_SECRET, body, int(time.time())),
                       "Idempotency-Key": f"{user}-{n}", "Content-Type": "application/json"}
            async with client.post("/v1/webhooks/payments", data=body, headers=headers) as response:
                response.raise_for_status()


async def run(base: str, rate: float, seconds: float, users: list[str],
              servers: dict[str, list[int]]) -> dict[str, list[float]]:
    tokens = {u: issue_token(JWT_SECRET, u, issuer="studio-ledger", audience="studio-ledger") for u in users}
    results: dict[str, list[float]] = {"command": [], "visible": [], "healthz": [], "errors": []}
    # aiohttp rather than httpx: the load generator shares the two cores with the server and
    # PostgreSQL, and aiohttp spends about a third of httpx's CPU per request.
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=30)  # an open loop queues for a connection rather than give up
    body = json.dumps(POSTER).encode()
    async with aiohttp.ClientSession(base_url=base, connector=connector, timeout=timeout) as client:
        await fund(client, users)

        async def one(i: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[users[i % len(users)]]}"}
            started = time.perf_counter()
            try:
                async with client.post("/v1/generations", data=body, headers={
                        **headers, "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}) as posted:
                    accepted = await posted.read()
                commanded = time.perf_counter()
                if posted.status != 202:
                    results["errors"].append(posted.status)
                    return
                position = json.loads(accepted)["position"]
                async with client.get(f"/v1/wallet?min_position={position}", headers=headers) as read:
                    await read.read()
            except (aiohttp.ClientError, TimeoutError):  # counted, as a status the server never sent
                results["errors"].append(0)
                return
            if read.status != 200:
                results["errors"].append(read.status)
                return
            results["command"].append(commanded - started)
            results["visible"].append(time.perf_counter() - started)

        async def probe() -> None:
            started = time.perf_counter()
            try:
                async with client.get("/healthz") as response:
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                results["errors"].append(0)
                return
            results["healthz"].append(time.perf_counter() - started)

        # Only the requests in flight are kept (a finished task drops out of the set), and what was
        # built before the timed loop is frozen: the load generator's own collector passes stay
        # short, so that they do not show up as server latency.
        tasks: set[asyncio.Task[None]] = set()
        gc.freeze()
        groups = {**servers, "postgres": postgres_pids(), "load generator": [os.getpid()]}
        cpu = {name: cpu_seconds(pids) for name, pids in groups.items()}
        begun = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            delay = begun + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            new = [asyncio.create_task(one(i))] + ([asyncio.create_task(probe())] if i % 10 == 0 else [])
            for task in new:
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        results["elapsed"] = [time.perf_counter() - begun]
        for name, pids in groups.items():
            results[f"cpu {name}"] = [cpu_seconds(pids) - cpu[name]]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="commands per second (open loop)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--projector", choices=("inprocess", "separate"), default="separate",
                        help="run the projector in the API process, or as `studio-ledger projector` beside it")
    parser.add_argument("--sweeper", choices=("inprocess", "separate"), default="separate",
                        help="run the hold sweeper in the API process, or as `studio-ledger sweep --loop` beside it")
    args = parser.parse_args()
    users = [f"bench-{n}" for n in range(args.users)]
    with scratch_database("studio_bench_api") as dbname, tempfile.TemporaryDirectory() as data:
        port = free_port()
        processes = start_server(dbname, port, Path(data), args.projector, args.sweeper)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if any(p.poll() is not None for p in processes):
                    logs = "\n".join(f"{log.name}:\n{log.read_text(errors='replace')[-3000:]}"
                                     for log in sorted(Path(data).glob("*.log")))
                    raise SystemExit(f"the server did not start\n{logs}")
                time.sleep(0.1)
            servers = {{"serve": "api", "sweep": "sweeper"}.get(p.args[1], p.args[1]): [p.pid] for p in processes}
            results = asyncio.run(run(base, args.rate, args.seconds, users, servers))
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if results["errors"]:  # what the server said about them, before its folder goes
            for log in sorted(Path(data).glob("*.log")):
                print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
    done = len(results["visible"])
    print(f"offered {args.rate:.0f} commands/s for {args.seconds:.0f} s over {args.users} users, projector "
          f"{args.projector}, sweeper {args.sweeper}; "
          f"completed {done} ({done / results['elapsed'][0]:.0f}/s), errors {len(results['errors'])} "
          f"{sorted(set(results['errors']))} (0: no answer within 30 s)")
    print("| measure | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, label in (("command", "POST /v1/generations (202)"),
                        ("visible", "command -> visible: POST, then GET /v1/wallet?min_position"),
                        ("healthz", "GET /healthz (floor, same run)")):
        print(f"| {label} | {percentile(results[name], 0.5):.1f} | {percentile(results[name], 0.99):.1f} |")
    elapsed = results["elapsed"][0]
    print("CPU over the run, cores busy and ms per completed command: " + ", ".join(
        f"{key[4:]} {spent[0] / elapsed:.2f} ({spent[0] / max(done, 1) * 1000:.2f} ms)"
        for key, spent in results.items() if key.startswith("cpu ")))


if __name__ == "__main__":
    main()
