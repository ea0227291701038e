"""Concurrency and idempotency on the real stores: many writers, one wallet, exact outcomes."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from ledger import ConflictingCommand, InsufficientCredits, Ledger, Money, Outcome
from ledger.wallet import Wallet
from tests.conftest import T0

pytestmark = pytest.mark.integration


@pytest.fixture(params=[False, True], ids=["direct", "group-commit"])
def pg_ledger(request: pytest.FixtureRequest, pg_env: dict[str, str]) -> Iterator[Ledger]:
    """A ledger on PostgreSQL."""
    app = Ledger(pg_env, group_commit=request.param)
    yield app
    app.close()


def run_concurrently(calls: list[Callable[[], Outcome]], threads: int = 50) -> list[Outcome | Exception]:
    def attempt(call: Callable[[], Outcome]) -> Outcome | Exception:
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(attempt, calls))


def test_fifty_threads_holding_one_credit_each_on_a_ten_credit_wallet_get_exactly_ten_holds(
    pg_ledger: Ledger,
) -> None:
    pg_ledger.purchase(user_id="alice", payment_id="p", pack_id="s", amount=10, price=Money(990, "INR"), at=T0)
    results = run_concurrently([
        (lambda i=i: pg_ledger.place_hold(user_id="alice", hold_id=f"h{i}", amount=1, at=T0))  # type: ignore[misc]
        for i in range(50)
    ])
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"Outcome": 10, "InsufficientCredits": 40}
    assert all(isinstance(r, Outcome | InsufficientCredits) for r in results)
    wallet = pg_ledger.wallet("alice")
    assert wallet is not None and (wallet.held, wallet.available(T0)) == (10, 0)
    stored = [e for e in pg_ledger.events.get(wallet.id) if isinstance(e, Wallet.HoldPlaced)]
    assert len(stored) == 10 and sorted(e.hold_id for e in stored) == sorted(
        h for h, hold in wallet.holds.items() if hold.status == "pending")
    assert len({r.position for r in results if isinstance(r, Outcome)}) == 10


COMMANDS: dict[str, Callable[[Ledger], Outcome]] = {
    "purchase": lambda lg: lg.purchase(user_id="bob", payment_id="pay-9", pack_id="s", amount=40,
                                     price=Money(3960, "INR"), at=T0),
    "redeem": lambda lg: lg.redeem(user_id="bob", redemption_id="red-9", amount=30, value=Money(300, "INR"), at=T0),
    "referral": lambda lg: lg.grant_referral_bonus(
        referral_id="ref-9", awards=[{"user_id": "bob", "credits": 50, "role": "referrer"}], at=T0, expires_at=None),
    "share": lambda lg: lg.grant_share_bonus(user_id="bob", reference="s-9", amount=5, at=T0, expires_at=None),
    "promo": lambda lg: lg.grant_promo(user_id="bob", reference="pr-9", amount=7, reason="r", at=T0,
                                     expires_at=T0 + timedelta(days=1)),
    "adjust": lambda lg: lg.adjust(user_id="bob", reference="adj-9", delta=-3, reason="fix", at=T0),
    "hold": lambda lg: lg.place_hold(user_id="bob", hold_id="h-9", amount=20, at=T0),
    "capture": lambda lg: lg.capture(user_id="bob", hold_id="h-9", amount=15, at=T0),
    "hold2": lambda lg: lg.place_hold(user_id="bob", hold_id="h-10", amount=5, at=T0),
    "release": lambda lg: lg.release(user_id="bob", hold_id="h-10", at=T0),
    "generate": lambda lg: lg.request_generation(
        user_id="bob", request_key="g-9", template_id="t", template_version=1, variables={}, input_image=None,
        cost=4, at=T0),
    "refund": lambda lg: lg.refund_purchase(payment_id="pay-9", at=T0),
    "reverse": lambda lg: lg.reverse_referral(referral_id="ref-9", at=T0),
}


def _state(ledger: Ledger) -> Any:
    wallet = ledger.wallet("bob")
    assert wallet is not None
    return (wallet.version, wallet.granted, wallet.held, wallet.consumed, wallet.clawed_back,
            wallet.available(T0))


@pytest.mark.parametrize("concurrently", [False, True], ids=["in-turn", "concurrently"])
def test_each_command_repeated_three_times_has_one_effect(pg_ledger: Ledger, concurrently: bool) -> None:
    for name, command in COMMANDS.items():
        if concurrently:
            results = run_concurrently([lambda c=command: c(pg_ledger)] * 3, threads=3)  # type: ignore[misc]
        else:
            results = [command(pg_ledger) for _ in range(3)]
        assert all(isinstance(r, Outcome) for r in results), (name, results)
        positions = {r.position for r in results if isinstance(r, Outcome)}
        assert len(positions) == 1, (name, results)
        assert sum(not r.repeated for r in results if isinstance(r, Outcome)) == 1, (name, results)
        state = _state(pg_ledger)
        assert command(pg_ledger).position == positions.pop()
        assert _state(pg_ledger) == state, name
    wallet = pg_ledger.wallet("bob")
    assert wallet is not None
    assert (wallet.granted, wallet.consumed) == (40 + 30 + 50 + 5 + 7, 15)


def test_a_request_repeated_through_another_writer_returns_the_first_outcome(
        pg_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    """The group committer does not look a new generation's id up in the store: a repeat (later, so
    its hold's deadline differs) that reaches a writer which has not seen the request conflicts on
    save, and the commands that touched what another writer had stored run again against the
    store, the repeat returning the first outcome."""
    first, second = Ledger(pg_env, group_commit=True), Ledger(pg_env, group_commit=True)
    try:
        for user in ("alice", "bob"):
            first.purchase(user_id=user, payment_id=f"p-{user}", pack_id="s", amount=50, price=Money(990, "INR"),
                           at=T0)

        def request(app: Ledger, user: str, key: str, cost: int = 5, later: int = 0) -> Outcome:
            return app.request_generation(user_id=user, request_key=key, template_id="poster", template_version=1,
                                          variables={"name": key}, input_image=None, cost=cost,
                                          at=T0 + timedelta(seconds=later))

        original = request(first, "alice", "k1")
        caplog.set_level(logging.INFO, logger="ledger.committer")
        results = run_concurrently([lambda: request(second, "alice", "k1", later=7),
                                    lambda: request(second, "bob", "k2")], threads=2)
        repeat, other = results
        assert isinstance(repeat, Outcome) and repeat.repeated
        assert (repeat.value, repeat.position) == (original.value, original.position)
        assert isinstance(other, Outcome) and not other.repeated
        assert second.committer is not None and second.committer.conflicts == 1  # the store was not asked first
        with pytest.raises(ConflictingCommand):
            request(second, "alice", "k1", cost=7)
        alice, bob = second.wallet("alice"), second.wallet("bob")
        assert alice is not None and bob is not None and (alice.held, bob.held) == (5, 5)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("attempt", range(5))
def test_processes_starting_together_on_a_fresh_schema_all_create_the_tables(
        pg_env: dict[str, str], attempt: int) -> None:
    """Every process of a deployment creates the event store's types and tables as it starts; two
    doing it at the same moment collide on the catalog, and each must still start."""
    start = threading.Barrier(4)

    def build() -> Ledger:
        start.wait()
        return Ledger(pg_env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        ledgers = list(pool.map(lambda _: build(), range(4)))
    try:
        ledgers[0].purchase(user_id="alice", payment_id="p", pack_id="s", amount=5, price=Money(99, "INR"), at=T0)
        assert ledgers[3].wallet("alice") is not None
    finally:
        for app in ledgers:
            app.close()
