"""Read-your-writes latency of the HTTP API on PostgreSQL: a command, then the projection showing it.

    .venv/bin/python bench/api_latency.py [--rate 200] [--seconds 10] [--users 50] [--replicas 2] [--warmup 3]

Starts `studio-ledger serve` on a scratch PostgreSQL database (group commit, no image rendering so
that the two cores go to the API) with `studio-ledger projector` and `studio-ledger sweep --loop`
as their own processes, as docker-compose.yml deploys them (``--projector inprocess`` and
``--sweeper inprocess`` run them inside the API process instead, as the embedded default does), funds
the users through the signed webhook, then runs an open loop of commands at ``--rate`` per second: each one is
POST /v1/generations followed by GET /v1/wallet?min_position=<its position>. Reported:
p50/p99 of the command alone, of command -> visible in the projection (both requests), and of
GET /healthz probed during the same run as the floor (the HTTP stack with no work behind it), and
the CPU each process (and PostgreSQL, and the load generator itself) spent per command.

With ``--replicas N`` it starts N API processes on the one ledger (one projector, one sweeper) and
runs the same offered load twice in one run: first all of it to one replica, then spread over the N
(``--route round-robin``, each command to the next replica; or ``--route user``, each user always to
the same one, as a load balancer hashing the Authorization header would). It prints each replica's
figures, the total, and ``ratio N replicas / 1 replica`` of completed commands per second.

Each measured phase follows ``--warmup`` seconds (3 by default) of the same load to the same replicas,
not counted: a replica's first requests load its wallets into the committer's cache and open its
statements, which is a replica joining, not its steady state. ``--warmup 0`` measures them too, and
``--timeline 0.1`` prints the slowest command in each tenth of a second, to see when the tail happened.

Then, with the API stopped, the same POSTs at the same rate go to the floor (`bench/_floor.py`: the same
JWT check, body model and one row written, on the same server settings), and the run prints each phase's
API CPU per command over the floor's CPU per request (``--no-floor`` leaves it out).
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
from bench import _floor
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


def start_server(dbname: str, ports: list[int], data_dir: Path, projector: str,
                 sweeper: str) -> list[subprocess.Popen[bytes]]:
    """`studio-ledger serve` on each port, with `studio-ledger projector` and `studio-ledger sweep
    --loop` beside them for each of those that is "separate"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_STORE="postgres", STUDIO_POSTGRES_DB=dbname, STUDIO_POSTGRES_HOST=PG["host"],
               STUDIO_POSTGRES_PORT=PG["port"], STUDIO_POSTGRES_USER=PG["user"],
               STUDIO_POSTGRES_PASSWORD=PG["password"], STUDIO_POSTGRES_POOL_SIZE="20",
               STUDIO_DATA_DIR=str(data_dir), STUDIO_JWT_SECRET=JWT_SECRET,
               STUDIO_WEBHOOK_SECRET=WEBHOOK_SECRET, STUDIO_MEDIA_SIGNING_KEY=WEBHOOK_SECRET + "-media",
               STUDIO_RUN_PIPELINE="false",
               STUDIO_RUN_PROJECTOR=str(projector == "inprocess").lower(),
               STUDIO_RUN_SWEEPER=str(sweeper == "inprocess").lower())
    cli = str(Path(sys.executable).with_name("studio-ledger"))
    # The pool opens all its connections at start: the projector and the sweeper need a few, and the
    # server's 100 connections are shared with whatever else runs on the machine.
    small_pool = {"STUDIO_POSTGRES_POOL_SIZE": "3"}
    commands = ([([cli, "serve"], {"STUDIO_PORT": str(port)}) for port in ports]
                + ([([cli, "projector"], small_pool)] if projector == "separate" else [])
                + ([([cli, "sweep", "--loop"], small_pool)] if sweeper == "separate" else []))
    processes = []
    for n, (command, extra) in enumerate(commands):
        with (data_dir / f"{n:02d}-{command[1]}.log").open("wb") as log:
            processes.append(subprocess.Popen(command, env={**env, **extra}, start_new_session=True, stdout=log,
                                              stderr=subprocess.STDOUT))
    return processes


async def fund(client: aiohttp.ClientSession, users: list[str], packs: int) -> None:
    for user in users:
        for n in range(packs):
            body = json.dumps({"type": "CreditPackPurchased", "payment_id": f"{user}-{n}", "user_id": user,
                               "pack_id": "studio", "amount_minor": 9900, "currency": "INR"}).encode()
            headers = {"Studio-Signature": sign(WEBHOOK_SECRET, body, int(time.time())),
                       "Idempotency-Key": f"{user}-{n}", "Content-Type": "application/json"}
            async with client.post("/v1/webhooks/payments", data=body, headers=headers) as response:
                response.raise_for_status()


def new_results() -> dict[str, list[float]]:
    return {"command": [], "visible": [], "healthz": [], "errors": [], "when": []}


async def run(bases: list[str], route: str, rate: float, seconds: float, users: list[str],
              servers: dict[str, list[int]], *, floor: bool = False) -> dict[str, dict[str, list[float]]]:
    """One open-loop phase over ``bases``; results per replica ("api 0", ...) and "total". With ``floor`` each
    command is the POST alone (to `bench/_floor.py`), and nothing is probed."""
    tokens = {u: issue_token(JWT_SECRET, u, issuer="studio-ledger", audience="studio-ledger") for u in users}
    results = {f"api {n}": new_results() for n in range(len(bases))} | {"total": new_results()}
    body = json.dumps(POSTER).encode()
    # aiohttp rather than httpx: the load generator shares the two cores with the server and
    # PostgreSQL, and aiohttp spends about a third of httpx's CPU per request.
    timeout = aiohttp.ClientTimeout(total=30)  # an open loop queues for a connection rather than give up
    clients = [aiohttp.ClientSession(base_url=base, connector=aiohttp.TCPConnector(limit=400), timeout=timeout)
               for base in bases]
    home = {user: n % len(bases) for n, user in enumerate(users)}  # --route user: a user's own replica

    def record(replica: int, name: str, value: float) -> None:
        results[f"api {replica}"][name].append(value)
        results["total"][name].append(value)

    async def one(i: int) -> None:
        user = users[i % len(users)]
        replica = home[user] if route == "user" else i % len(bases)
        client = clients[replica]
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        started = time.perf_counter()
        try:
            async with client.post("/v1/generations", data=body, headers={
                    **headers, "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}) as posted:
                accepted = await posted.read()
            commanded = time.perf_counter()
            if posted.status != 202:
                record(replica, "errors", posted.status)
                return
            position = json.loads(accepted)["position"]
            if floor:
                record(replica, "command", commanded - started)
                record(replica, "visible", commanded - started)
                return
            async with client.get(f"/v1/wallet?min_position={position}", headers=headers) as read:
                await read.read()
        except (aiohttp.ClientError, TimeoutError):  # counted, as a status the server never sent
            record(replica, "errors", 0)
            return
        if read.status != 200:
            record(replica, "errors", read.status)
            return
        record(replica, "command", commanded - started)
        record(replica, "visible", time.perf_counter() - started)
        record(replica, "when", started - begun)

    async def probe(replica: int) -> None:
        started = time.perf_counter()
        try:
            async with clients[replica].get("/healthz") as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            record(replica, "errors", 0)
            return
        record(replica, "healthz", time.perf_counter() - started)

    try:
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
            new = [asyncio.create_task(one(i))]
            if i % 10 == 0 and not floor:
                new.append(asyncio.create_task(probe(i // 10 % len(bases))))
            for task in new:
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        results["total"]["elapsed"] = [time.perf_counter() - begun]
        for name, pids in groups.items():
            results["total"][f"cpu {name}"] = [cpu_seconds(pids) - cpu[name]]
    finally:
        for client in clients:
            await client.close()
    return results


def timeline(results: dict[str, dict[str, list[float]]], replicas: int, step: float) -> None:
    """The slowest command and command -> visible in each ``step`` of the run, per replica: when the tail
    happened, and whether the command itself or the projection behind it was slow."""
    print("| from s | " + " | ".join(f"api {n} worst POST / visible ms" for n in range(replicas)) + " |")
    print("|---|" + "---|" * replicas)
    for window in range(int(results["total"]["elapsed"][0] / step) + 1):
        cells = []
        for n in range(replicas):
            row = results[f"api {n}"]
            inside = [i for i, w in enumerate(row["when"]) if int(w / step) == window]
            cells.append(f"{max((row['command'][i] for i in inside), default=0) * 1000:.0f} / "
                         f"{max((row['visible'][i] for i in inside), default=0) * 1000:.0f}")
        print(f"| {window * step:.1f} | " + " | ".join(cells) + " |")


def report(title: str, results: dict[str, dict[str, list[float]]], replicas: int, step: float) -> float:
    """Print one phase's figures (with a ``step``, its timeline too); its completed commands per second."""
    total = results["total"]
    elapsed = total["elapsed"][0]
    done = len(total["visible"])
    print(f"{title}: completed {done} ({done / elapsed:.0f}/s), errors {len(total['errors'])} "
          f"{sorted(set(total['errors']))} (0: no answer within 30 s)")
    print("| replica | completed/s | POST p50 / p99 ms | command -> visible p50 / p99 ms | /healthz p50 / p99 ms "
          "| API CPU ms per command |")
    print("|---|---|---|---|---|---|")
    for name in [f"api {n}" for n in range(replicas)] + ["total"]:
        row = results[name]
        served = len(row["visible"])
        if name == "total":
            spent = sum(total.get(f"cpu api {n}", [0.0])[0] for n in range(replicas))
        else:
            spent = total.get(f"cpu {name}", [0.0])[0]
        print(f"| {name} | {served / elapsed:.0f} | {percentile(row['command'], 0.5):.1f} / "
              f"{percentile(row['command'], 0.99):.1f} | {percentile(row['visible'], 0.5):.1f} / "
              f"**{percentile(row['visible'], 0.99):.1f}** | {percentile(row['healthz'], 0.5):.1f} / "
              f"{percentile(row['healthz'], 0.99):.1f} | {spent / max(served, 1) * 1000:.2f} |")
    print("CPU over the run, cores busy and ms per completed command: " + ", ".join(
        f"{key[4:]} {spent[0] / elapsed:.2f} ({spent[0] / max(done, 1) * 1000:.2f} ms)"
        for key, spent in total.items() if key.startswith("cpu ")))
    if step:
        timeline(results, replicas, step)
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="commands per second (open loop)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--replicas", type=int, default=1,
                        help="API processes on the one ledger; above 1, the run measures one replica first")
    parser.add_argument("--route", choices=("round-robin", "user"), default="round-robin",
                        help="which replica a command goes to: the next one, or the user's own")
    parser.add_argument("--projector", choices=("inprocess", "separate"), default="separate",
                        help="run the projector in the API process, or as `studio-ledger projector` beside it")
    parser.add_argument("--sweeper", choices=("inprocess", "separate"), default="separate",
                        help="run the hold sweeper in the API process, or as `studio-ledger sweep --loop` beside it")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of the same load before each measured phase, not counted (0: measure a "
                        "replica's first requests too)")
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True,
                        help="after the API, measure the floor (`bench/_floor.py`) at the same rate, and print the "
                        "API's CPU per command over the floor's per request")
    parser.add_argument("--timeline", type=float, default=0.0, metavar="SECONDS",
                        help="also print the slowest command and command -> visible in each interval of this length")
    args = parser.parse_args()
    if args.replicas > 1 and "inprocess" in (args.projector, args.sweeper):
        parser.error("several replicas share one projector and one sweeper: run them separate")
    users = [f"bench-{n}" for n in range(args.users)]
    phases = 2 if args.replicas > 1 else 1
    commands = args.rate * (args.seconds + args.warmup) * phases
    packs = 1 + int(commands * 5 / args.users / 1200)  # a poster costs 5 credits
    with scratch_database("studio_bench_api") as dbname, tempfile.TemporaryDirectory() as data:
        ports = [free_port() for _ in range(args.replicas)]
        processes = start_server(dbname, ports, Path(data), args.projector, args.sweeper)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        outcomes = []
        try:
            for base in bases:
                wait_ready(base, processes, Path(data))
            names = [f"api {n}" for n in range(args.replicas)] + [
                {"sweep": "sweeper"}.get(p.args[1], p.args[1]) for p in processes[args.replicas:]]
            servers = {name: [p.pid] for name, p in zip(names, processes, strict=True)}

            async def phases_run() -> None:
                async with aiohttp.ClientSession(base_url=bases[0]) as client:
                    await fund(client, users, packs)
                for phase in ([bases[:1]] if args.replicas > 1 else []) + [bases]:
                    if args.warmup > 0:  # the same load, not measured: each replica's caches and connections warm
                        await run(phase, args.route, args.rate, args.warmup, users, servers)
                    outcomes.append(await run(phase, args.route, args.rate, args.seconds, users, servers))

            asyncio.run(phases_run())
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if args.floor:
            floor = measure_floor(dbname, Path(data), args.rate, args.seconds, args.warmup, users)
        if any(o["total"]["errors"] for o in outcomes):  # what the servers said about them, before their folder goes
            for log in sorted(Path(data).glob("*.log")):
                lines = log.read_text(errors="replace").splitlines()
                failing = [n for n, line in enumerate(lines) if " 500 " in line or "Traceback" in line]
                shown = sorted({m for n in failing[:3] for m in range(n, min(n + 25, len(lines)))})
                print(f"--- {log.name} (the first failures, then the last lines)\n"
                      + "\n".join([lines[m] for m in shown] + ["..."] + lines[-10:]))
    print(f"offered {args.rate:.0f} commands/s for {args.seconds:.0f} s over {args.users} users, projector "
          f"{args.projector}, sweeper {args.sweeper}, {args.replicas} API replica(s), route {args.route}, each phase "
          f"after {args.warmup:g} s of the same load not measured")
    rates = []
    if args.replicas > 1:
        rates.append(report("1 replica", outcomes[0], 1, args.timeline))
    rates.append(report(f"{args.replicas} replica(s)", outcomes[-1], args.replicas, args.timeline))
    if args.replicas > 1:
        print(f"ratio {args.replicas} replicas / 1 replica (completed commands/s at {args.rate:.0f}/s offered): "
              f"{rates[1] / rates[0]:.2f}")
    if args.floor:
        report_floor(floor, outcomes, args.replicas)


def measure_floor(dbname: str, data: Path, rate: float, seconds: float, warmup: float,
                  users: list[str]) -> dict[str, dict[str, list[float]]]:
    """The same POSTs at the same rate to `bench/_floor.py` on the scratch database, once the API is stopped."""
    port = free_port()
    env = {**os.environ, "STUDIO_JWT_SECRET": JWT_SECRET}
    with (data / "floor.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, _floor.__file__, "--port", str(port), "--db", dbname], env=env,
                                   start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, [process], data)

        async def phase() -> dict[str, dict[str, list[float]]]:
            if warmup > 0:
                await run([base], "round-robin", rate, warmup, users, {}, floor=True)
            return await run([base], "round-robin", rate, seconds, users, {"floor": [process.pid]}, floor=True)

        return asyncio.run(phase())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def report_floor(floor: dict[str, dict[str, list[float]]], outcomes: list[dict[str, dict[str, list[float]]]],
                 replicas: int) -> None:
    """The floor's figures, and each phase's API CPU per command over the floor's CPU per request."""
    total = floor["total"]
    done = len(total["command"])
    per_request = total["cpu floor"][0] / max(done, 1) * 1000
    print(f"floor (`bench/_floor.py`): completed {done / total['elapsed'][0]:.0f}/s, errors {len(total['errors'])}, "
          f"POST p50 / p99 {percentile(total['command'], 0.5):.1f} / {percentile(total['command'], 0.99):.1f} ms, "
          f"CPU {per_request:.2f} ms per request")
    for outcome, n in zip(outcomes, ([1] if replicas > 1 else []) + [replicas], strict=True):
        spent = sum(outcome["total"].get(f"cpu api {i}", [0.0])[0] for i in range(n))
        per_command = spent / max(len(outcome["total"]["visible"]), 1) * 1000
        print(f"API CPU per command / floor CPU per request, {n} replica(s): {per_command:.2f} / {per_request:.2f} "
              f"= **{per_command / per_request:.2f}**")


def wait_ready(base: str, processes: list[subprocess.Popen[bytes]], data: Path) -> None:
    """Wait until the API at ``base`` answers /readyz; stop with the logs if a process died."""
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if any(p.poll() is not None for p in processes):
            logs = "\n".join(f"{log.name}:\n{log.read_text(errors='replace')[-3000:]}"
                             for log in sorted(data.glob("*.log")))
            raise SystemExit(f"the server did not start\n{logs}")
        time.sleep(0.1)
    raise SystemExit(f"{base} was not ready within 60 s")


if __name__ == "__main__":
    main()
