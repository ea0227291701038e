"""Why the group committer does not ask the store whether each new generation's id exists.

    .venv/bin/python bench/generation_lookup.py [--seconds 5] [--callers 8] [--users 200] [--rounds 2]

A repeated request must be recognised from the store. The committer takes an id absent from its
cache for new, and a repeat is caught by the store's unique key when its batch is saved (or, if
rejected on the way, by a lookup then). The alternative measured against it, in the same run on
the same database, asks the store for every new generation's id in the writer thread. Rounds
alternate the two so that the shared machine's drift falls on both. Prints requests/s, p50/p99
per request and the ratio of the two.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._pg import ledger_env, scratch_database
from bench.ledger_throughput import drive, percentile
from ledger import Ledger, Money

AT = datetime(2026, 1, 1, tzinfo=UTC)


def requests(ledger: Ledger, callers: int, seconds: float, users: int, store_lookup: bool) -> tuple[float, list[float]]:
    """Generation requests with fresh keys from ``callers`` threads for ``seconds``."""
    committer = ledger.committer
    assert committer is not None
    if store_lookup:  # the alternative: the store is asked for every new generation's id
        committer._cached = committer._load  # type: ignore[method-assign]
    run = uuid.uuid4().hex[:6]

    def request(caller: int, i: int) -> int:
        key = f"{run}-{caller}-{i}"
        user = f"u{(caller * 7919 + i) % users}"
        ledger.request_generation(user_id=user, request_key=key, template_id="poster", template_version=1,
                                  variables={"title": key}, input_image=None, cost=1, at=AT)
        return 1

    try:
        return drive(callers, seconds, request)
    finally:
        committer.__dict__.pop("_cached", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with scratch_database("bench_lookup") as dbname:
        ledger = Ledger(ledger_env(dbname, pool_size=args.callers + 2), group_commit=True)
        try:
            for n in range(args.users):
                ledger.purchase(user_id=f"u{n}", payment_id=f"p{n}", pack_id="s", amount=10**9,
                                price=Money(100, "INR"), at=AT)
            results: dict[bool, list[tuple[float, list[float]]]] = {False: [], True: []}
            for _ in range(args.rounds):
                for store_lookup in (False, True):
                    results[store_lookup].append(requests(ledger, args.callers, args.seconds, args.users,
                                                          store_lookup))
        finally:
            ledger.close()
    print(f"PostgreSQL, group commit, {args.callers} callers, {args.rounds} x {args.seconds:.0f} s per case")
    rates = {}
    for store_lookup, name in ((False, "committer: cache only"), (True, "store asked per new id")):
        rate = sum(r for r, _ in results[store_lookup]) / args.rounds
        latencies = [x for _, lat in results[store_lookup] for x in lat]
        rates[store_lookup] = rate
        print(f"{name:<22} {rate:8.0f} requests/s   p50 {percentile(latencies, .5) * 1000:6.2f} ms"
              f"   p99 {percentile(latencies, .99) * 1000:6.2f} ms")
    print(f"ratio store asked / committer: {rates[True] / rates[False]:.2f}")


if __name__ == "__main__":
    main()
