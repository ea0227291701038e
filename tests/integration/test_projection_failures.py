"""One event no projection column can hold never stops the read side: it is set aside for the projections
that cannot apply it, recorded with its position and reason, and shown until an operator resolves it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ledger import Ledger, Money, Wallet, wallet_id
from projections import Projector, all_projections
from projections.audit.diff import ProjectionDiff
from projections.audit.verify import run_verify
from projections.balances import wallet_balances
from projections.failures import failures
from service.health import Health
from tests.conftest import T0

pytestmark = pytest.mark.integration
HUGE = 10**20  # what a redemption of 10^20 minor units became before the limits: past every BIGINT


def store_a_redemption_from_before_the_limits(ledger: Ledger, user: str) -> int:
    """Store, as an earlier version accepted it, a redemption of ``HUGE`` credits; its position."""
    wallet = Wallet.open(wallet_id(user), user, T0)
    wallet.trigger_event(Wallet.CreditsRedeemed, timestamp=T0, prev_hash=wallet.last_hash, grant_id="g-huge",
                         credits=HUGE, expires_at=None, price=Money(HUGE, "INR"), reference="red-huge")
    recordings = ledger.save(wallet)
    return int(recordings[-1].notification.id)


def buy(ledger: Ledger, user: str, payment: str) -> int:
    """A purchase of 100 credits; its position."""
    return ledger.purchase(user_id=user, payment_id=payment, pack_id="starter", amount=100,
                           price=Money(900, "INR"), at=T0).position


def balances(engine: Engine) -> dict[str, int]:
    """Each user's projected balance."""
    with engine.connect() as conn:
        rows = conn.execute(select(wallet_balances.c.user_id, wallet_balances.c.balance))
        return {str(user): int(balance) for user, balance in rows}


def projector_on(app: Ledger, engine: Engine) -> Projector:
    """Every projection over ``app``, its tables created (as a process starting)."""
    projector = Projector(app, engine, all_projections(), page_size=50)
    projector.setup()
    return projector


def test_an_event_no_column_can_hold_is_set_aside_and_every_other_read_keeps_following(
        app: Ledger, read_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    buy(app, "bob", "p-1")
    poison = store_a_redemption_from_before_the_limits(app, "alice")
    head = buy(app, "carol", "p-2")
    projector = projector_on(app, read_engine)
    projector.catch_up()
    assert projector.position == head
    assert balances(read_engine)["bob"] == balances(read_engine)["carol"] == 100
    with read_engine.connect() as conn:
        found = failures(conn)
    assert found and {f.position for f in found} == {poison}
    assert {f.event_type for f in found} == {"CreditsRedeemed"}
    assert "wallet_balances" in {f.projection for f in found} and "generations" not in {f.projection for f in found}
    assert all(f.reason and f.aggregate_id == str(wallet_id("alice")) for f in found)
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(f"cannot apply position {poison} (CreditsRedeemed" in line for line in logged)


def test_a_restarted_projector_does_not_stop_on_it_again_and_it_stays_loud(app: Ledger, read_engine: Engine) -> None:
    poison = store_a_redemption_from_before_the_limits(app, "alice")
    projector_on(app, read_engine).catch_up()
    head = buy(app, "bob", "p-1")
    restarted = projector_on(app, read_engine)
    restarted.catch_up()
    assert restarted.position == head and balances(read_engine)["bob"] == 100
    health = Health(ledger=app, engine=read_engine, projected=lambda: restarted.position, ready_max_lag=10)
    assert health.readiness()["projections"] == "ok"
    assert any(f"position {poison} (CreditsRedeemed)" in line for line in health.set_aside())
    gauge = health.gauges()["studio_projection_failures"]
    assert gauge["wallet_balances"] == 1 and gauge["generations"] == 0
    report = run_verify(app, projections=ProjectionDiff(read_engine))
    assert any(f.position == poison and "wallet_balances set this event aside" in f.problem for f in report.findings)


def test_a_rebuild_clears_the_record_and_sets_aside_again_what_still_cannot_apply(app: Ledger,
                                                                                read_engine: Engine) -> None:
    store_a_redemption_from_before_the_limits(app, "alice")
    buy(app, "bob", "p-1")
    projector = projector_on(app, read_engine)
    projector.catch_up()
    with read_engine.connect() as conn:
        before = [(f.projection, f.position) for f in failures(conn)]
    projector.rebuild(["wallet_balances"])
    with read_engine.connect() as conn:
        after = [(f.projection, f.position) for f in failures(conn)]
    assert sorted(after) == sorted(before)
    assert balances(read_engine)["bob"] == 100
