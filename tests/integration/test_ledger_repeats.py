"""A repeated command is recognised from the store, whenever and wherever it arrives.

Every command with a deterministic id, repeated with the same payload at a later time, through a
writer whose cache went stale after a conflict, in a new process, and concurrently, returns its
first outcome (``repeated``) and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger import Ledger, Money, Outcome
from ledger.values import generation_id
from ledger.wallet import Wallet
from service.policy import load_policy
from service.shares import grant_share_bonus
from tests.conftest import T0

pytestmark = pytest.mark.integration

EXPIRY = T0 + timedelta(days=90)
POLICY = load_policy()


@dataclass
class Case:
    """The ids of one example, so examples never share a wallet or a reference."""

    user: str
    key: str

    def generation(self, ledger: Ledger, at: datetime) -> Outcome:
        return ledger.request_generation(
            user_id=self.user, request_key=self.key, template_id="poster", template_version=1,
            variables={"title": self.key}, input_image=None, cost=5, at=at)

    def finished(self, ledger: Ledger, at: datetime) -> Any:
        generation = self.generation(ledger, at).value
        ledger.complete_generation(generation_id=generation, at=at, image_url="/i.png", storage_id="s",
                                   provider="local", model="m", seed=1, timings={"render": 0.1})
        ledger.share_generation(generation_id=generation, user_id=self.user, token=f"t-{self.key}", at=at)
        return generation


Step = Callable[[Ledger, Case, datetime], Outcome]


def _nothing(ledger: Ledger, case: Case, at: datetime) -> None:
    return None


def _share_bonus(ledger: Ledger, case: Case, at: datetime) -> Outcome:
    return grant_share_bonus(ledger, POLICY, user_id=case.user, generation_id=_generation_id(case))


def _generation_id(case: Case) -> UUID:
    return generation_id(case.user, case.key)


# Each command: what must exist first, and the command itself (its payload fixed, its time `at`).
COMMANDS: dict[str, tuple[Callable[[Ledger, Case, datetime], Any], Step]] = {
    "purchase": (_nothing, lambda lg, c, at: lg.purchase(
        user_id=c.user, payment_id=f"pay-{c.key}", pack_id="starter", amount=40, price=Money(3960, "INR"), at=at)),
    "redemption": (_nothing, lambda lg, c, at: lg.redeem(
        user_id=c.user, redemption_id=f"red-{c.key}", amount=30, value=Money(300, "INR"), at=at)),
    "referral": (_nothing, lambda lg, c, at: lg.grant_referral_bonus(
        referral_id=f"ref-{c.key}", awards=[{"user_id": c.user, "credits": 50, "role": "referrer"}], at=at,
        expires_at=EXPIRY)),
    "reversal": (lambda lg, c, at: lg.grant_referral_bonus(
        referral_id=f"ref-{c.key}", awards=[{"user_id": c.user, "credits": 50, "role": "referrer"}], at=at,
        expires_at=EXPIRY), lambda lg, c, at: lg.reverse_referral(referral_id=f"ref-{c.key}", at=at)),
    "refund": (lambda lg, c, at: lg.purchase(
        user_id=c.user, payment_id=f"pay-{c.key}", pack_id="starter", amount=40, price=Money(3960, "INR"), at=at),
        lambda lg, c, at: lg.refund_purchase(payment_id=f"pay-{c.key}", at=at)),
    "share bonus": (lambda lg, c, at: c.finished(lg, at), _share_bonus),
    "promo": (_nothing, lambda lg, c, at: lg.grant_promo(
        user_id=c.user, reference=f"promo-{c.key}", amount=7, reason="launch", at=at, expires_at=EXPIRY)),
    "adjustment": (_nothing, lambda lg, c, at: lg.adjust(
        user_id=c.user, reference=f"adj-{c.key}", delta=-3, reason="correction", at=at)),
    "hold": (_nothing, lambda lg, c, at: lg.place_hold(user_id=c.user, hold_id=f"h-{c.key}", amount=4, at=at)),
    "generation request": (_nothing, lambda lg, c, at: c.generation(lg, at)),
    "generation completion": (lambda lg, c, at: c.generation(lg, at), lambda lg, c, at: lg.complete_generation(
        generation_id=_generation_id(c), at=at, image_url="/i.png", storage_id="s", provider="local",
        model="m", seed=1, timings={"render": 0.1})),
    "generation failure": (lambda lg, c, at: c.generation(lg, at), lambda lg, c, at: lg.fail_generation(
        generation_id=_generation_id(c), reason="model down", retryable=False, at=at)),
}

delays = st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=2))


def _same(first: Outcome, repeat: Outcome | BaseException, how: str) -> None:
    assert isinstance(repeat, Outcome), (how, repeat)
    assert repeat.repeated, (how, repeat)
    assert (repeat.value, repeat.position) == (first.value, first.position), (how, first, repeat)


@pytest.mark.parametrize("group_commit", [False, True], ids=["direct", "group-commit"])
def test_every_command_repeated_later_elsewhere_or_concurrently_returns_its_first_outcome_and_writes_nothing(
        pg_env: dict[str, str], group_commit: bool) -> None:
    writer = Ledger(pg_env, group_commit=group_commit)
    other = Ledger(pg_env)  # another process writing the same wallets

    @settings(max_examples=len(COMMANDS), deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(COMMANDS)), later=delays, elsewhere=delays,
           together=st.tuples(delays, delays))
    def check(name: str, later: timedelta, elsewhere: timedelta, together: tuple[timedelta, timedelta]) -> None:
        case = Case(user=f"u-{uuid.uuid4().hex[:10]}", key=uuid.uuid4().hex[:10])
        setup, command = COMMANDS[name]
        writer.purchase(user_id=case.user, payment_id=f"seed-{case.key}", pack_id="starter", amount=100,
                        price=Money(9900, "INR"), at=T0)
        setup(writer, case, T0)
        # The writer's cached wallet is now stale: its next batch conflicts and runs one by one.
        other.grant_promo(user_id=case.user, reference=f"other-{case.key}", amount=1, reason="x", at=T0,
                          expires_at=None)
        first = command(writer, case, T0 + timedelta(seconds=1))
        assert not first.repeated, first
        written = writer.recorder.max_notification_id()

        _same(first, command(writer, case, T0 + timedelta(seconds=1) + later), "later")
        fresh = Ledger(pg_env, group_commit=group_commit)  # a new process: nothing cached
        try:
            _same(first, command(fresh, case, T0 + timedelta(seconds=1) + elsewhere), "in a new process")
            with ThreadPoolExecutor(max_workers=2) as pool:
                repeats = list(pool.map(
                    lambda pair: _attempt(lambda: command(pair[0], case, T0 + timedelta(seconds=1) + pair[1])),
                    [(writer, together[0]), (fresh, together[1])]))
            for repeat in repeats:
                _same(first, repeat, "concurrently")
        finally:
            fresh.close()
        assert writer.recorder.max_notification_id() == written, f"a repeated {name} wrote events"
        checked.add(name)

    checked: set[str] = set()

    for command_name in COMMANDS:  # every command, whatever hypothesis draws
        check = example(name=command_name, later=timedelta(seconds=1), elsewhere=timedelta(days=1),
                        together=(timedelta(0), timedelta(milliseconds=1)))(check)
    try:
        check()
        assert checked == set(COMMANDS)
    finally:
        writer.close()
        other.close()


def _attempt(call: Callable[[], Outcome]) -> Outcome | BaseException:
    try:
        return call()
    except Exception as error:
        return error


def test_a_generation_request_repeated_later_in_a_new_process_with_group_commit_is_its_first_outcome(
        pg_env: dict[str, str]) -> None:
    """The client retries after the API died between the ledger's commit and its idempotency record."""
    case = Case(user="alice", key="k-1")
    first_process = Ledger(pg_env, group_commit=True)
    first_process.purchase(user_id="alice", payment_id="p", pack_id="starter", amount=100,
                           price=Money(9900, "INR"), at=T0)
    first = case.generation(first_process, T0)
    first_process.close()
    restarted = Ledger(pg_env, group_commit=True)
    try:
        repeat = case.generation(restarted, T0 + timedelta(seconds=3))
        assert repeat.repeated and (repeat.value, repeat.position) == (first.value, first.position)
        wallet = restarted.wallet("alice")
        assert wallet is not None and wallet.held == 5
    finally:
        restarted.close()


def test_a_repeat_whose_hold_was_forgotten_on_a_spent_wallet_is_its_first_outcome_not_a_402(
        pg_env: dict[str, str]) -> None:
    """The committer takes a generation id absent from its cache for new: a repeat it rejects on the
    way (here, not enough credits for a hold the wallet no longer remembers) is checked in the store."""
    case = Case(user="bob", key="k-1")
    first_process = Ledger(pg_env, group_commit=True)
    first_process.purchase(user_id="bob", payment_id="p", pack_id="starter", amount=5, price=Money(500, "INR"), at=T0)
    first = case.generation(first_process, T0)
    first_process.complete_generation(generation_id=first.value, at=T0, image_url="/i.png", storage_id="s",
                                      provider="local", model="m", seed=1, timings={})
    first_process.purchase(user_id="bob", payment_id="p2", pack_id="starter", amount=1, price=Money(100, "INR"),
                           at=T0)
    for n in range(Wallet.RESOLVED_HOLDS_KEPT):
        first_process.place_hold(user_id="bob", hold_id=f"h{n}", amount=1, at=T0)
        first_process.release(user_id="bob", hold_id=f"h{n}", at=T0)
    first_process.close()
    restarted = Ledger(pg_env, group_commit=True)
    try:
        spent = restarted.wallet("bob")
        assert spent is not None and str(first.value) not in spent.holds and spent.available(T0) == 1
        repeat = case.generation(restarted, T0 + timedelta(minutes=1))
        assert repeat.repeated and (repeat.value, repeat.position) == (first.value, first.position)
    finally:
        restarted.close()
