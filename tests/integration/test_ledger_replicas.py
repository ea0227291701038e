"""Several group-committing ledgers on one PostgreSQL store, as several API replicas run them: the
same wallets from many threads, no double spend, nothing lost, repeats answered alike by either."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ledger import ConflictingCommand, InsufficientCredits, Ledger, Money, Outcome
from ledger.wallet import Wallet
from projections.audit.verify import run_verify
from tests.conftest import T0

pytestmark = pytest.mark.integration
USERS = [f"user-{n}" for n in range(10)]


@pytest.fixture
def replicas(pg_env: dict[str, str]) -> Iterator[list[Ledger]]:
    """Two ledgers with group commit on the same store, as two API processes."""
    ledgers = [Ledger(pg_env, group_commit=True), Ledger(pg_env, group_commit=True)]
    yield ledgers
    for ledger in ledgers:
        ledger.close()


def stored_wallet(ledger: Ledger, user: str) -> Wallet:
    """The user's wallet as stored, read by a ledger of its own (no replica's cache)."""
    fresh = Ledger(ledger.env)
    try:
        wallet = fresh.wallet(user)
    finally:
        fresh.close()
    assert wallet is not None
    return wallet


def hammer(ledgers: list[Ledger], thread: int, rounds: int, captured: Counter[str]) -> list[Any]:
    """Place a hold on a random wallet through a random replica, then capture or release it through
    a random replica; what each command answered."""
    rng = random.Random(thread)
    answers: list[Any] = []
    for n in range(rounds):
        user, hold = rng.choice(USERS), f"h-{thread}-{n}"
        amount = rng.randint(1, 6)
        try:
            answers.append(rng.choice(ledgers).place_hold(user_id=user, hold_id=hold, amount=amount, at=T0))
        except Exception as error:
            answers.append(error)
            continue
        try:
            if rng.random() < 0.7:
                take = rng.randint(1, amount)
                answers.append(rng.choice(ledgers).capture(user_id=user, hold_id=hold, amount=take, at=T0))
                captured[user] += take
            else:
                answers.append(rng.choice(ledgers).release(user_id=user, hold_id=hold, at=T0))
        except Exception as error:
            answers.append(error)
    return answers


def test_two_replicas_on_the_same_ten_wallets_from_twenty_threads_keep_every_invariant(
        replicas: list[Ledger]) -> None:
    for user in USERS:
        replicas[0].purchase(user_id=user, payment_id=f"pay-{user}", pack_id="s", amount=150,
                             price=Money(9900, "INR"), at=T0)
    captured: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(thread: int) -> list[Any]:
        mine: Counter[str] = Counter()
        answers = hammer(replicas, thread, 30, mine)
        with lock:
            captured.update(mine)
        return answers

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = [a for thread in pool.map(worker, range(20)) for a in thread]

    kinds = Counter(type(a).__name__ for a in answers)
    assert set(kinds) <= {"Outcome", "InsufficientCredits"}, kinds  # no conflict reaches a caller
    assert kinds["Outcome"] > 600
    conflicts = sum(r.committer.conflicts for r in replicas if r.committer is not None)
    assert conflicts > 0, "the replicas never wrote the same wallet at once: the test proves nothing"
    for user in USERS:
        wallet = stored_wallet(replicas[0], user)
        assert wallet.consumed == captured[user]
        assert wallet.available(T0) >= 0
        assert wallet.available(T0) + wallet.held + wallet.consumed == wallet.granted == 150
        assert wallet.held == 0
    report = run_verify(replicas[1])
    assert report.ok, report.text()


def test_a_repeat_through_the_other_replica_answers_like_the_first(replicas: list[Ledger]) -> None:
    first, second = replicas
    bought = first.purchase(user_id="ana", payment_id="pay-1", pack_id="s", amount=50, price=Money(990, "INR"),
                            at=T0)
    again = second.purchase(user_id="ana", payment_id="pay-1", pack_id="s", amount=50, price=Money(990, "INR"),
                            at=T0)
    assert again.repeated and again.position == bought.position

    def request(app: Ledger, key: str, cost: int = 5) -> Outcome:
        return app.request_generation(user_id="ana", request_key=key, template_id="poster", template_version=1,
                                      variables={"title": key}, input_image=None, cost=cost, at=T0)

    def hold(app: Ledger) -> Outcome:
        return app.place_hold(user_id="ana", hold_id="h-1", amount=7, at=T0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        holds = list(pool.map(lambda n: hold(replicas[n % 2]), range(8)))
        requests = list(pool.map(lambda n: request(replicas[n % 2], "k-1"), range(8)))
    assert len({h.position for h in holds}) == 1 and sum(not h.repeated for h in holds) == 1
    assert len({(r.value, r.position) for r in requests}) == 1 and sum(not r.repeated for r in requests) == 1
    captures = [second.capture(user_id="ana", hold_id="h-1", amount=3, at=T0),
                first.capture(user_id="ana", hold_id="h-1", amount=3, at=T0)]
    assert captures[1].repeated and captures[1].position == captures[0].position
    with pytest.raises(ConflictingCommand):
        first.capture(user_id="ana", hold_id="h-1", amount=4, at=T0)
    with pytest.raises(ConflictingCommand):
        second.request_generation(user_id="ana", request_key="k-1", template_id="poster", template_version=1,
                                  variables={"title": "k-1"}, input_image=None, cost=6, at=T0)
    wallet = second.wallet("ana")
    assert wallet is not None and (wallet.held, wallet.consumed, wallet.available(T0)) == (5, 3, 42)
    stored = [e for e in second.events.get(wallet.id) if isinstance(e, Wallet.HoldPlaced)]
    assert len(stored) == 2


def test_a_rejection_is_decided_on_what_the_other_replica_stored(replicas: list[Ledger]) -> None:
    first, second = replicas
    first.purchase(user_id="bo", payment_id="pay-b", pack_id="s", amount=10, price=Money(990, "INR"), at=T0)
    with pytest.raises(InsufficientCredits):
        second.place_hold(user_id="bo", hold_id="big", amount=20, at=T0)  # the wallet is now in its cache
    first.purchase(user_id="bo", payment_id="pay-b2", pack_id="s", amount=10, price=Money(990, "INR"), at=T0)

    placed = second.place_hold(user_id="bo", hold_id="big", amount=20, at=T0)

    assert not placed.repeated
    wallet = first.wallet("bo")
    assert wallet is not None and wallet.held == 20


def test_generation_requests_through_both_replicas_on_ten_wallets_hold_exactly_what_was_accepted(
        replicas: list[Ledger]) -> None:
    for user in USERS:
        replicas[0].purchase(user_id=user, payment_id=f"pay-{user}", pack_id="s", amount=60,
                             price=Money(9900, "INR"), at=T0)
    for ledger in replicas:
        assert ledger.committer is not None
        ledger.committer.cache.clear()  # as replicas that just started

    def requester(thread: int) -> list[Any]:
        rng = random.Random(thread)
        answers: list[Any] = []
        for n in range(15):
            user = rng.choice(USERS)
            try:
                answers.append((user, rng.choice(replicas).request_generation(
                    user_id=user, request_key=f"k-{thread}-{n}", template_id="poster", template_version=1,
                    variables={}, input_image=None, cost=5, at=T0)))
            except InsufficientCredits as error:
                answers.append((user, error))
        return answers

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = [a for thread in pool.map(requester, range(20)) for a in thread]

    accepted = Counter(user for user, answer in answers if isinstance(answer, Outcome))
    assert sum(accepted.values()) == 120  # 10 wallets x 60 credits / 5: every credit held, none twice
    for user in USERS:
        wallet = stored_wallet(replicas[0], user)
        assert wallet.held == 5 * accepted[user] == 60
        assert wallet.available(T0) == 0
    report = run_verify(replicas[1])
    assert report.ok, report.text()
