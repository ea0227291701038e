"""Auto top-up with guardrails: one charge per shortfall however many generations race across the threshold
and however often the watch restarts; at most one pending; the monthly cap holds; a decline pauses the plan
(and is told) until the learner turns it on again."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from ledger import Ledger, Money
from ledger.recharge import Recharge
from projections import Projector
from projections.alerts import WalletAlerts, alerts_of
from projections.db import make_engine
from service.platform import DemoWallet
from service.policy import load_policy
from service.recharges import RechargeDriver
from service.topups import TopUpTerms, TopUpWatch, set_auto_top_up
from tests.conftest import T0

pytestmark = pytest.mark.integration
POLICY = load_policy()
STARTER = POLICY.pack("starter")


@pytest.fixture
def ledger(sqlite_env: dict[str, str]) -> Iterator[Ledger]:
    """A ledger on SQLite where ana holds 40 credits and has auto top-up of the starter pack below 20."""
    app = Ledger(sqlite_env)
    app.purchase(user_id="ana", payment_id="p-1", pack_id="starter", amount=40, price=Money(360, "INR"), at=T0)
    set_auto_top_up(app, POLICY, user_id="ana", at=T0,
                    terms=TopUpTerms(pack_id="starter", below=20, monthly_cap_minor=2 * STARTER.price_minor))
    yield app
    app.close()


def watch(ledger: Ledger) -> TopUpWatch:
    """A watch as a (re)started sweeper has it."""
    return TopUpWatch(ledger, POLICY, timedelta(minutes=15), lambda: T0)


def spend(ledger: Ledger, keys: range, cost: int = 5) -> None:
    """Generations requested at once, each holding ``cost``."""
    def one(n: int) -> None:
        ledger.request_generation(user_id="ana", request_key=f"g-{n}", template_id="poster", template_version=1,
                                  variables={}, input_image=None, cost=cost, at=T0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, keys))


def top_ups(ledger: Ledger) -> list[Recharge]:
    """The recharges asked for ana's plan."""
    plan = ledger.top_up_plan("ana")
    assert plan is not None
    found = [ledger.recharge(UUID(r)) for r in plan.months]
    return [r for r in found if r is not None]


def test_a_burst_across_the_threshold_charges_once_even_across_restarts(ledger: Ledger) -> None:
    spend(ledger, range(6))  # 40 -> 10: one crossing below 20, whoever raced
    assert watch(ledger).tell(T0) == 1
    assert watch(ledger).tell(T0) == 0  # a restarted watch finds the same crossing: the same id, no charge
    demo = DemoWallet(start_minor=10_000, currency="INR")
    RechargeDriver(ledger, demo, attempts=3, retry=timedelta(0), clock=lambda: T0).drive(T0)
    assert demo.balance("ana").balance_minor == 10_000 - STARTER.price_minor
    wallet = ledger.wallet("ana")
    assert wallet is not None and wallet.available(T0) == 10 + STARTER.credits
    assert len(top_ups(ledger)) == 1


def test_at_most_one_pending_and_the_monthly_cap_holds(ledger: Ledger) -> None:
    spend(ledger, range(6))  # crosses once: a top-up pending
    first = watch(ledger)
    assert first.tell(T0) == 1
    spend(ledger, range(100, 102))  # 10 -> 0 while it is pending: no second top-up
    assert first.tell(T0) == 0
    demo = DemoWallet(start_minor=100_000, currency="INR")
    driver = RechargeDriver(ledger, demo, attempts=3, retry=timedelta(0), clock=lambda: T0)
    driver.drive(T0)  # 0 + 100 credits
    spend(ledger, range(6, 22))  # 100 -> 20: not below
    spend(ledger, range(24, 26))  # 20 -> 10: a second crossing
    assert first.tell(T0) == 1
    driver.drive(T0)
    spend(ledger, range(26, 48))  # 110 -> 0: a third crossing, past the cap of two packs a month
    assert first.tell(T0) == 0
    assert demo.balance("ana").balance_minor == 100_000 - 2 * STARTER.price_minor


def test_a_declined_top_up_pauses_the_plan_until_the_learner_turns_it_on(ledger: Ledger, tmp_path: Path) -> None:
    spend(ledger, range(6))
    assert watch(ledger).tell(T0) == 1
    RechargeDriver(ledger, DemoWallet(start_minor=0, currency="INR"), attempts=3, retry=timedelta(0),
                   clock=lambda: T0).drive(T0)
    plan = ledger.top_up_plan("ana")
    assert plan is not None and plan.paused.startswith("insufficient demo balance") and not plan.on
    engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    projector = Projector(ledger, engine, [WalletAlerts()])
    projector.setup()
    projector.catch_up()
    with engine.connect() as conn:
        told = [row["kind"] for row in alerts_of(conn, "ana", before=None, limit=10)]
    assert told == ["auto-top-up-failed"]  # told once: not also as a declined recharge
    set_auto_top_up(ledger, POLICY, user_id="ana", at=T0,
                    terms=TopUpTerms(pack_id="starter", below=20, monthly_cap_minor=2 * STARTER.price_minor))
    plan = ledger.top_up_plan("ana")
    assert plan is not None and plan.on
