"""Crash campaign: the Kafka deployment under load, a random process SIGKILLed every few seconds, then checked.

    .venv/bin/python bench/chaos.py [--kills 20] [--interval 4] [--rate 20] [--seed N] [--api-replicas 2]

Runs the processes of docker-compose.yml (api, projector, relay, consume, results, worker,
sweeper) as local processes on a scratch PostgreSQL database and a local Tansu broker (noida-db
never evicts a SIGKILLed group member, so it cannot take this campaign), after `studio-ledger
kafka init`. The load: generations (some repeated with their key, some twice at once), shares,
wallet reads, pack purchases through Kafka and the webhook (some delivered twice), redemptions,
refunds, referrals and reversals, malformed messages of every kind, and recharges from the platform's
wallet (some asked twice) with auto top-up on for every third learner, the platform played by a fake
served on a free port from this process (never killed; every fourth learner's balance runs out, so
some debits are declined). The worker's model fails
or hangs on a fraction of calls (STUDIO_MODEL_FAILURE_RATE / STUDIO_MODEL_TIMEOUT_RATE) and
generations time out after ``--hold-s``, so retries, ``generation.failed`` and the sweeper's
expiry all happen. Every ``--interval`` seconds (on average) one process, chosen at random, is
SIGKILLed by its PID and started again. After ``--kills`` kills the load stops; once the
deployment is quiet the campaign checks: `audit verify` passes (the revenue identity among its
checks) and `audit revenue` ties out every day of the run, its figures printed; every purchase, redemption,
refund, referral and reversal applied exactly once; every accepted generation ended once with its
hold resolved once; every gallery equals the ledger's completed generations; no credits held;
every malformed message dead-lettered with its reason and no valid one; every recharge and top-up the
platform took granted exactly once, none granted that it did not take, none lost or left open; no 5xx while the API was
up; no key answered both 202 and 409; the daily share-bonus cap held. Exit 0 only if all hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.messaging.topics import dead_letter_topic
from bench._broker import LOCAL, broker
from bench._chaos_checks import LogReader, check, read_all, server_errors_outside, wait_quiet
from bench._chaos_load import Load
from bench._chaos_money import check_recharges, fake_platform
from bench._fleet import COMMANDS, Fleet, cli
from bench._pg import PG, ledger_env, scratch_database
from ledger import Ledger
from projections import queries
from projections.db import make_engine
from service.policy import load_policy
from tests.support.kafka_broker import free_port
from tests.support.platform_fake import SECRET as PLATFORM_SECRET
from tests.support.platform_fake import FakePlatform, Served

JWT_SECRET = "chaos-" + uuid.uuid4().hex + uuid.uuid4().hex
WEBHOOK_SECRET = "chaos-" + uuid.uuid4().hex + uuid.uuid4().hex
MEDIA_KEY = "chaos-" + uuid.uuid4().hex + uuid.uuid4().hex
TOPICS = {"payments": "payments.events", "referrals": "affiliate.referrals", "completed": "generation.completed"}
GROUPS = {"studio-ledger-payments": ["payments.events"], "studio-ledger-referrals": ["affiliate.referrals"],
          "studio-ledger-results": ["generation.completed", "generation.failed"],
          "studio-generation-workers": ["generation.requested"]}


def environment(args: argparse.Namespace, dbname: str, servers: str, port: int, data: Path,
                platform_url: str) -> dict[str, str]:
    """The STUDIO_* settings every process of the deployment gets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(
        STUDIO_STORE="postgres", STUDIO_POSTGRES_HOST=PG["host"], STUDIO_POSTGRES_PORT=PG["port"],
        STUDIO_POSTGRES_USER=PG["user"], STUDIO_POSTGRES_PASSWORD=PG["password"], STUDIO_POSTGRES_DB=dbname,
        STUDIO_POSTGRES_POOL_SIZE="3", STUDIO_DISPATCH="kafka", STUDIO_RUN_PROJECTOR="false",
        STUDIO_RUN_PIPELINE="false", STUDIO_RUN_SWEEPER="false", STUDIO_DATA_DIR=str(data),
        STUDIO_HOST="127.0.0.1", STUDIO_PORT=str(port), STUDIO_PUBLIC_URL=f"http://127.0.0.1:{port}",
        STUDIO_JWT_SECRET=JWT_SECRET, STUDIO_WEBHOOK_SECRET=WEBHOOK_SECRET, STUDIO_MEDIA_SIGNING_KEY=MEDIA_KEY,
        STUDIO_KAFKA_BOOTSTRAP_SERVERS=servers, STUDIO_KAFKA_IDEMPOTENCE=str(args.broker != "tansu").lower(),
        STUDIO_KAFKA_PARTITIONS="8", STUDIO_CONSUMER_SESSION_TIMEOUT_MS="6000",
        STUDIO_CONSUMER_REBALANCE_TIMEOUT_MS="10000", STUDIO_WORKER_CONCURRENCY="8", STUDIO_RESULTS_CONCURRENCY="2",
        STUDIO_IMAGE_PROVIDER="local", STUDIO_IMAGE_STORE="local", STUDIO_LOCAL_SCALE="0.1",
        STUDIO_MODEL_FAILURE_RATE=str(args.failure_rate), STUDIO_MODEL_TIMEOUT_RATE=str(args.timeout_rate),
        STUDIO_MODEL_TIMEOUT_S=str(args.hold_s + 10), STUDIO_MAX_ATTEMPTS="2", STUDIO_BACKOFF_S="0.2",
        STUDIO_GENERATION_TIMEOUT_S=str(args.hold_s), STUDIO_PLATFORM_URL=platform_url,
        STUDIO_PLATFORM_SECRET=PLATFORM_SECRET, STUDIO_RECHARGE_RETRY_S="0.5")
    return env


async def wait_ready(base: str, process: subprocess.Popen[bytes] | None = None, within: float = 120.0) -> float:
    """Block until GET /healthz answers 200; the time it did. Stops at once if ``process`` (the API) exited."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the API at {base} exited with code {process.returncode} (its log is below)")
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return time.time()
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the API at {base} did not answer within {within}s")


async def galleries(base: str, load: Load) -> dict[str, set[str]]:
    """Every user's gallery as the API shows it (all pages)."""
    shown: dict[str, set[str]] = {}
    async with aiohttp.ClientSession(base_url=base) as session:
        for user, token in load.tokens.items():
            shown[user], cursor = set(), ""
            while True:
                async with session.get(f"/v1/gallery?limit=100{cursor}",
                                       headers={"Authorization": f"Bearer {token}"}) as response:
                    response.raise_for_status()
                    page = await response.json()
                shown[user] |= {item["generation_id"] for item in page["items"]}
                if not page["next_cursor"]:
                    break
                cursor = f"&cursor={page['next_cursor']}"
    return {u: g for u, g in shown.items() if g}


async def campaign(args: argparse.Namespace, fleet: Fleet, apis: dict[str, str], servers: str,
                   ledger: Ledger, read_url: str) -> dict[str, Any]:
    """Load, kills, quiet, and the evidence for the checks. ``apis``: each API replica's name and address."""
    rng = random.Random(args.seed)
    users = [f"chaos-{n}" for n in range(args.users)]
    policy = load_policy()
    names, bases = list(apis), list(apis.values())
    base = bases[0]
    downtime: dict[int, list[tuple[float, float]]] = {
        n: [(0.0, await wait_ready(b, fleet.processes[name]))] for n, (name, b) in enumerate(apis.items())}
    revivals: list[str] = []
    async with Load(bases, servers, TOPICS, policy, users, jwt_secret=JWT_SECRET, webhook_secret=WEBHOOK_SECRET,
                    seed=args.seed) as load:
        for user in users:  # every learner starts with a pack; every third one tops up by itself
            await load.purchase(user)
        for user in users[::3]:
            if await load.turn_on_top_up(user, policy.packs[0].id, 60) != 200:
                raise RuntimeError(f"auto top-up could not be turned on for {user}")
        loading = asyncio.create_task(load.run(args.rate))
        began = time.monotonic()
        for n in range(args.kills):
            await asyncio.sleep(rng.uniform(0.5 * args.interval, 1.5 * args.interval))
            revivals += fleet.revive()
            name = rng.choice(list(fleet.commands))
            killed_at = time.time()
            fleet.kill(name)
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            fleet.start(name)
            print(f"  kill {n + 1:>3}/{args.kills} at {time.monotonic() - began:6.1f}s: {name}", flush=True)
            if name in apis:
                downtime[names.index(name)].append((killed_at, await wait_ready(apis[name], fleet.processes[name])))
        load.stop()
        await loading
        loaded_s = time.monotonic() - began
        revivals += fleet.revive()
        for name, each in apis.items():
            await wait_ready(each, fleet.processes[name])
        reader = LogReader(ledger, policy.day_of)
        engine = make_engine(read_url)

        def projected() -> int:
            with engine.connect() as conn:
                return min(queries.tracked_positions(conn).values(), default=0)

        quiet_began = time.monotonic()
        quiet, state = await wait_quiet(reader, servers, GROUPS, "relay", projected, within=args.quiet_within)
        quiet_s = time.monotonic() - quiet_began
        folded = await asyncio.to_thread(reader.catch_up)
        settle = time.monotonic() + 120  # the sweeper drives the last recharges and top-ups to their end
        while folded.recharges.open() and time.monotonic() < settle:
            await asyncio.sleep(1.0)
            folded = await asyncio.to_thread(reader.catch_up)
        shown = await galleries(base, load)
        with engine.connect() as conn:
            held = {"read tables": queries.pending_holds(conn)}
        engine.dispose()
        for user in set(folded.users.values()):
            wallet = await asyncio.to_thread(ledger.wallet, user)
            if wallet is not None and wallet.held:
                held[user] = wallet.held
        dead: dict[str, list[tuple[str, str]]] = {}
        for topic in {dead_letter_topic(t) for t in (*TOPICS.values(), "generation.failed", "generation.requested")}:
            for record in await read_all(servers, topic):
                headers = {k: v.decode() for k, v in record.headers}
                dead.setdefault(record.key.decode() if record.key else "", []).append((topic, headers["x-error"]))
    return {"load": load, "downtime": downtime, "revivals": revivals, "loaded_s": loaded_s, "quiet": quiet,
            "state": state, "quiet_s": quiet_s, "folded": folded, "galleries": shown, "held": held, "dead": dead,
            "cap": policy.share.max_bonuses_per_day}


def audit(env: dict[str, str]) -> tuple[int, str]:
    """`studio-ledger audit verify` on the campaign's database: exit code and its last lines."""
    done = subprocess.run([cli(), "audit", "verify", "--no-progress"], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    return done.returncode, "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])


def revenue(env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    """`studio-ledger audit revenue` over the campaign's days (UTC, a day either side): exit code, the JSON
    report (empty when it did not run) and its error output."""
    today = datetime.now(UTC).date()
    done = subprocess.run([cli(), "audit", "revenue", "--from", (today - timedelta(days=1)).isoformat(),
                           "--to", (today + timedelta(days=2)).isoformat(), "--format", "json", "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    try:
        return done.returncode, json.loads(done.stdout), done.stderr.strip()
    except ValueError:
        return done.returncode, {}, (done.stdout + done.stderr).strip()[-500:]


def revenue_lines(revenue_rc: int, found: dict[str, Any], errors: str) -> tuple[list[str], list[str]]:
    """The revenue report's figures to print (one line per currency over the whole range), and its findings."""
    if not found:
        return [], [f"audit revenue failed (exit {revenue_rc}): {errors}"]
    totals: dict[str, dict[str, int]] = {}
    for row in found["months"]:
        into = totals.setdefault(row["currency"], {})
        for name in ("sales", "recognised", "breakage", "refunds", "clawed_back", "credits_granted",
                     "credits_consumed", "credits_expired", "credits_clawed_back"):
            into[name] = into.get(name, 0) + row[name]
        into["closing_deferred"], into["closing_credits"] = row["closing_deferred"], row["closing_credits"]
    lines = [f"  {currency}: " + ", ".join(f"{k} {v}" for k, v in figures.items())
             for currency, figures in sorted(totals.items())]
    wrong = [f"{r['period']} {r['currency']} off by {r['difference']} (credits {r['credits_difference']})"
             for r in (*found["days"], *found["months"]) if not r["ties_out"]]
    return lines, ([f"revenue identity does not tie out: {wrong[:5]}"] if wrong or revenue_rc else [])


def report(args: argparse.Namespace, fleet: Fleet, found: dict[str, Any], audit_rc: int, audit_out: str,
           elapsed: float, platform: FakePlatform, revenue_found: tuple[int, dict[str, Any], str]) -> list[str]:
    """Print the run's figures and findings; the findings."""
    load, folded = found["load"], found["folded"]
    tally = load.tally
    findings = check(folded, tally, found["dead"], found["galleries"], found["held"], found["cap"])
    findings += check_recharges(folded.recharges, tally.recharges, folded.grants, platform)
    if audit_rc != 0:
        findings.insert(0, f"audit verify failed (exit {audit_rc}): {audit_out}")
    figures, untied = revenue_lines(*revenue_found)
    findings += untied
    if not found["quiet"]:
        findings.insert(0, f"not quiet after {args.quiet_within:.0f}s: {found['state']}")
    outside = server_errors_outside(tally.server_errors, found["downtime"])
    if outside:
        findings.append(f"5xx while the API was up: {len(outside)}, e.g. {outside[:3]}")
    swept = sum(1 for g, (user, hold) in folded.requested.items()  # failed with their hold expired: the sweeper
                if folded.endings.get(g) == ["GenerationFailed"]
                and folded.resolutions.get((user, hold)) == ["HoldExpired"])
    endings = [e[0] for e in folded.endings.values() if e]
    print(f"\nchaos run: seed {args.seed}, {elapsed:.0f} s in all ({found['loaded_s']:.0f} s of load at "
          f"{args.rate:.0f}/s, quiet after {found['quiet_s']:.0f} s), broker {args.broker}")
    down = sum(end - start for spans in found["downtime"].values() for start, end in spans[1:])
    print(f"kills: {sum(fleet.kills.values())} ({', '.join(f'{k} {v}' for k, v in sorted(fleet.kills.items()))}); "
          f"{len(found['downtime'])} API replica(s), down {down:.0f} s in all; "
          f"exits on their own (restarted): {len(found['revivals'])} {sorted(set(found['revivals']))}")
    print(f"messages produced: {sum(tally.messages.values())} ({dict(tally.messages)}); "
          f"malformed {len(tally.malformed)}, dead-lettered records {sum(len(v) for v in found['dead'].values())}")
    print(f"HTTP answers: {dict(sorted(tally.statuses.items()))}")
    print(f"generations: {len(folded.requested)} requested ({len(tally.answers)} keys, "
          f"{sum(len(a) for a in tally.answers.values())} POSTs), {endings.count('GenerationCompleted')} completed "
          f"({dict(folded.late) or 'none'} late), {endings.count('GenerationFailed')} failed "
          f"{dict(folded.failure_reasons)}, {swept} of them failed by the sweeper")
    print(f"share answers: {dict(tally.shares)}; share bonuses granted {sum(folded.share_bonuses.values())}; "
          f"purchases {len(tally.payments)}, redemptions {len(tally.redemptions)}, refunds {len(tally.refunds)}, "
          f"referrals {len(tally.referrals)}, reversals {len(tally.reversals)}; ledger events {folded.head}")
    print(f"recharges and auto top-ups: {dict(sorted(folded.recharges.purposes().items()))}; "
          f"debits the platform took {sum(1 for d in platform.debits.values() if d['status'] == 'confirmed')}, "
          f"declined {sum(1 for d in platform.debits.values() if d['status'] == 'declined')}, "
          f"debit requests received {len(platform.received)}")
    print(f"audit verify: exit {audit_rc}: {audit_out.splitlines()[0] if audit_out else ''}")
    rows = len(revenue_found[1].get("days", [])) + len(revenue_found[1].get("months", []))
    print(f"audit revenue: exit {revenue_found[0]}, {rows} rows (days and months by currency), "
          f"{'every one ties out' if revenue_found[1].get('ok') else 'NOT tied out'}; minor units:")
    for line in figures:
        print(line)
    print(f"findings: {len(findings)}")
    for line in findings:
        print(f"  - {line}")
    return findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="processes to SIGKILL before the load stops")
    parser.add_argument("--interval", type=float, default=4.0, help="mean seconds between kills")
    parser.add_argument("--rate", type=float, default=12.0, help="load actions per second")
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--seed", type=int, default=None, help="the dice (default: random, printed)")
    parser.add_argument("--failure-rate", type=float, default=0.15, help="model calls that fail")
    parser.add_argument("--timeout-rate", type=float, default=0.01,
                        help="model calls that never answer (the worker gives each call --hold-s + 10 s, so a "
                             "generation whose call hangs outlives its hold and the sweeper fails it)")
    parser.add_argument("--hold-s", type=int, default=30, help="seconds a generation may take before it expires")
    parser.add_argument("--quiet-within", type=float, default=240.0, help="seconds to wait for quiescence")
    parser.add_argument("--bootstrap", default=None, help="an existing broker instead of a local one")
    parser.add_argument("--broker", choices=LOCAL, default="tansu", help="the local broker (tansu: see above)")
    parser.add_argument("--api-replicas", type=int, default=1,
                        help="API processes on the one ledger; the load goes round-robin, each retry to the next")
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    started = time.monotonic()
    platform = fake_platform([f"chaos-{n}" for n in range(args.users)])
    served = Served(platform)  # the platform's wallet, outside the deployment: never killed
    with broker(args.bootstrap, args.broker) as servers, scratch_database("studio_chaos") as dbname, \
            tempfile.TemporaryDirectory(prefix="studio-chaos-") as folder:
        ports = [free_port() for _ in range(args.api_replicas)]
        port = ports[0]
        env = environment(args, dbname, servers, port, Path(folder), served.url)
        init = subprocess.run([cli(), "kafka", "init"], env=env, capture_output=True, text=True, check=False)
        if init.returncode:
            raise SystemExit(f"kafka init failed: {init.stderr.strip()}")
        extra = {f"api-{n + 1}": port for n, port in enumerate(ports[1:], start=1)}
        fleet = Fleet(env, Path(folder) / "logs", commands={**COMMANDS, **{name: ["serve"] for name in extra}},
                      envs={name: {"STUDIO_PORT": str(p), "STUDIO_PUBLIC_URL": f"http://127.0.0.1:{p}"}
                            for name, p in extra.items()})
        apis = {"api": f"http://127.0.0.1:{port}"} | {name: f"http://127.0.0.1:{p}" for name, p in extra.items()}
        fleet.start_all()
        ledger = Ledger(ledger_env(dbname, pool_size=4))
        read_url = f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{dbname}"
        try:
            found = asyncio.run(campaign(args, fleet, apis, servers, ledger, read_url))
        except BaseException:
            for name in fleet.commands:
                print(f"--- {name}\n{fleet.tail(name)}", file=sys.stderr)
            raise
        finally:
            fleet.stop_all()
            ledger.close()
        audit_rc, audit_out = audit(env)
        findings = report(args, fleet, found, audit_rc, audit_out, time.monotonic() - started, platform,
                          revenue(env))
        served.stop()
        if findings and os.environ.get("STUDIO_CHAOS_KEEP_LOGS"):
            kept = Path(os.environ["STUDIO_CHAOS_KEEP_LOGS"])
            kept.mkdir(parents=True, exist_ok=True)
            for log in (Path(folder) / "logs").glob("*.log"):
                (kept / log.name).write_bytes(log.read_bytes())
    raise SystemExit(1 if findings else 0)


if __name__ == "__main__":
    main()
