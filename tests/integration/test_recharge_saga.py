"""The recharge saga against a real HTTP fake of the platform: each outcome, a slow, failing, lying or
down platform, answers that come twice, and a driver that restarts between the steps. Never granted
twice, never lost, never pending past its deadline without a finding."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from ledger import ConflictingCommand, FrozenWallet, Ledger, UnknownReference
from ledger.recharge import RechargeStatus
from projections.audit.replay import replay
from projections.audit.state import Finding
from service.bootstrap import build_platform
from service.errors import InvalidSetting
from service.messages import PAYMENT_MESSAGES
from service.payments import apply_payment
from service.platform import DemoWallet, HttpPlatformWallet, PlatformWallet
from service.policy import load_policy
from service.recharges import RechargeDriver, credits_for, recharge_of, request_recharge
from service.settings.parts import PlatformSettings
from tests.conftest import T0
from tests.support.platform_fake import SECRET, Behaviour, FakePlatform, Served, free_port

pytestmark = pytest.mark.integration
POLICY = load_policy()
DEADLINE = timedelta(minutes=15)


@pytest.fixture
def ledger(sqlite_env: dict[str, str]) -> Iterator[Ledger]:
    """A ledger on SQLite, so that a restarted driver reads the same log."""
    app = Ledger(sqlite_env)
    yield app
    app.close()


@pytest.fixture
def platform() -> Iterator[tuple[FakePlatform, Served]]:
    """The fake platform served on a free port; ana has 1000 paise there."""
    fake = FakePlatform(balances={"ana": 1000})
    served = Served(fake)
    yield fake, served
    served.stop()


def adapter(url: str, timeout_s: float = 1.0) -> HttpPlatformWallet:
    """Our HTTP adapter for the platform at ``url``."""
    return HttpPlatformWallet(base_url=url, secret=SECRET, timeout_s=timeout_s)


def driver(ledger: Ledger, wallet: PlatformWallet, *, attempts: int = 3) -> RechargeDriver:
    """A recharge driver retrying at once (the tests pass the time)."""
    return RechargeDriver(ledger, wallet, attempts=attempts, retry=timedelta(0), clock=lambda: T0)


def ask(ledger: Ledger, key: str = "k-1", amount: int = 500) -> UUID:
    """ana asks to recharge ``amount`` paise; the recharge id."""
    return request_recharge(ledger, POLICY, user_id="ana", key=key, amount_minor=amount, currency="INR", at=T0,
                            deadline=DEADLINE).recharge_id


def redeemed(ledger: Ledger) -> int:
    """The credits ana holds from redemptions."""
    wallet = ledger.wallet("ana")
    return 0 if wallet is None else sum(g.amount for g in wallet.grants.values() if g.source == "redemption")


def test_a_confirmed_recharge_grants_its_credits_once(ledger: Ledger,
                                                      platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    recharge = ask(ledger)
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.REQUESTED
    drive = driver(ledger, adapter(served.url))
    assert drive.drive(T0) == 1
    assert drive.drive(T0 + timedelta(minutes=1)) == 0  # nothing open: nothing asked again
    view = recharge_of(ledger, user_id="ana", recharge=recharge)
    assert (view.status, view.credits) == (RechargeStatus.CONFIRMED, 50)
    assert redeemed(ledger) == 50 and fake.balances["ana"] == 500 and fake.received == [str(recharge)]


def test_a_declined_recharge_says_why_and_grants_nothing(ledger: Ledger,
                                                         platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    recharge = ask(ledger, amount=2000)
    driver(ledger, adapter(served.url)).drive(T0)
    view = recharge_of(ledger, user_id="ana", recharge=recharge)
    assert (view.status, view.detail) == (RechargeStatus.DECLINED, "insufficient balance")
    assert redeemed(ledger) == 0 and fake.balances["ana"] == 1000


def test_a_failing_platform_is_retried_with_the_same_debit_id(ledger: Ledger,
                                                              platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    fake.behaviour = Behaviour(fail_debits=2)
    recharge = ask(ledger)
    drive = driver(ledger, adapter(served.url))
    for minute in range(3):
        drive.drive(T0 + timedelta(minutes=minute))
    assert fake.received == [str(recharge)] * 3
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.CONFIRMED
    assert redeemed(ledger) == 50 and fake.balances["ana"] == 500


def test_a_debit_taken_but_never_answered_is_settled_by_asking_and_granted_once(
        ledger: Ledger, platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    fake.behaviour = Behaviour(drop_after=5)  # the platform takes the money, the answer is lost, every time
    recharge = ask(ledger)
    drive = driver(ledger, adapter(served.url), attempts=2)
    for minute in range(4):
        drive.drive(T0 + timedelta(minutes=minute))
    assert fake.received == [str(recharge)] * 2  # then it asked GET /wallet/debits/{id} instead
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.CONFIRMED
    assert redeemed(ledger) == 50 and fake.balances["ana"] == 500


def test_a_slow_platform_times_out_and_the_next_attempt_gets_the_same_answer(
        ledger: Ledger, platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    fake.behaviour = Behaviour(slow_s=1.0)
    recharge = ask(ledger)
    drive = driver(ledger, adapter(served.url, timeout_s=0.2))
    drive.drive(T0)
    found = recharge_of(ledger, user_id="ana", recharge=recharge)
    assert found.status == RechargeStatus.REQUESTED and found.attempts == 1 and "ReadTimeout" in found.detail
    fake.behaviour = Behaviour()
    drive.drive(T0 + timedelta(minutes=1))
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.CONFIRMED
    assert redeemed(ledger) == 50 and fake.balances["ana"] == 500  # the slow first debit took it once


def test_an_answer_about_another_debit_is_not_believed(ledger: Ledger, platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    fake.behaviour = Behaviour(lie=True)
    recharge = ask(ledger)
    driver(ledger, adapter(served.url)).drive(T0)
    found = recharge_of(ledger, user_id="ana", recharge=recharge)
    assert found.status == RechargeStatus.REQUESTED and "another debit" in found.detail and redeemed(ledger) == 0


def test_a_platform_down_past_the_deadline_is_a_finding_then_granted_when_it_answers(ledger: Ledger) -> None:
    fake = FakePlatform(balances={"ana": 1000})
    port = free_port()
    recharge = ask(ledger)
    down = driver(ledger, adapter(f"http://127.0.0.1:{port}"))
    down.drive(T0)
    down.drive(T0 + DEADLINE)
    found = recharge_of(ledger, user_id="ana", recharge=recharge)
    assert found.status == RechargeStatus.LAPSED and "deadline" in found.detail and redeemed(ledger) == 0
    fake.debits[str(recharge)] = {"debit_id": str(recharge), "status": "confirmed"}  # it had taken the money
    served = Served(fake)
    try:
        driver(ledger, adapter(served.url)).drive(T0 + DEADLINE + timedelta(minutes=1))  # a restarted driver
    finally:
        served.stop()
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.CONFIRMED
    assert redeemed(ledger) == 50


def test_two_drivers_racing_on_one_recharge_grant_it_once(ledger: Ledger,
                                                          platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    recharge = ask(ledger)
    first, second = driver(ledger, adapter(served.url)), driver(ledger, adapter(served.url))
    first.catch_up()
    second.catch_up()  # both saw it open: a replica that took the lock while the other still worked
    first.drive(T0)
    second.drive(T0)
    assert redeemed(ledger) == 50 and fake.balances["ana"] == 500
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.CONFIRMED


def test_a_repeated_request_is_the_same_recharge_and_another_amount_under_its_key_is_refused(
        ledger: Ledger) -> None:
    assert ask(ledger) == ask(ledger)
    with pytest.raises(ConflictingCommand, match="another amount"):
        ask(ledger, amount=600)


def test_the_demo_wallet_takes_its_labelled_balance_once_per_debit(ledger: Ledger) -> None:
    demo = DemoWallet(start_minor=700, currency="INR")
    assert demo.balance("ana").demo
    first, second = ask(ledger, "k-1"), ask(ledger, "k-2")
    driver(ledger, demo).drive(T0)
    statuses = {recharge_of(ledger, user_id="ana", recharge=r).status for r in (first, second)}
    assert statuses == {RechargeStatus.CONFIRMED, RechargeStatus.DECLINED}
    assert demo.balance("ana").balance_minor == 200 and redeemed(ledger) == 50


def test_a_frozen_wallet_cannot_recharge(ledger: Ledger) -> None:
    ledger.freeze(user_id="ana", reason="chargeback 4521", at=T0)
    with pytest.raises(FrozenWallet, match="chargeback 4521"):
        ask(ledger)


@pytest.mark.parametrize(("amount", "currency", "field"), [(5, "INR", "amount_minor"), (505, "INR", "amount_minor"),
                                                           (500, "USD", "currency")])
def test_an_amount_that_buys_no_whole_credits_is_refused(amount: int, currency: str, field: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        credits_for(POLICY, amount, currency)
    assert refused.value.field == field


def test_someone_elses_recharge_is_not_found(ledger: Ledger) -> None:
    recharge = ask(ledger)
    with pytest.raises(UnknownReference, match="no recharge"):
        recharge_of(ledger, user_id="bob", recharge=recharge)


@pytest.mark.parametrize(("env", "named"), [
    ({"STUDIO_PLATFORM_URL": "ftp://platform"}, "STUDIO_PLATFORM_URL"),
    ({"STUDIO_PLATFORM_URL": "https://platform/wallet?x=1"}, "STUDIO_PLATFORM_URL"),
    ({"STUDIO_PLATFORM_URL": "https://platform", "STUDIO_PLATFORM_SECRET": "short"}, "STUDIO_PLATFORM_SECRET"),
    ({"STUDIO_PLATFORM_TIMEOUT_S": "0"}, "platform_timeout_s"),
])
def test_platform_settings_out_of_bounds_are_refused_by_name(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                             named: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=named):
        PlatformSettings()


def test_a_deployment_without_the_platform_takes_no_demo_money() -> None:
    assert build_platform(PlatformSettings(), POLICY, embedded=False) is None
    assert isinstance(build_platform(PlatformSettings(), POLICY, embedded=True), DemoWallet)


def test_the_audit_finds_a_lapsed_recharge_and_nothing_once_it_is_confirmed(ledger: Ledger) -> None:
    recharge = ask(ledger)
    ledger.end_recharge(recharge_id=recharge, ending="lapsed", detail="no answer by the deadline", at=T0 + DEADLINE)
    findings = replay_findings(ledger)
    assert [f.problem for f in findings] == [f"recharge {recharge} lapsed unresolved: no answer by the deadline"]
    ledger.end_recharge(recharge_id=recharge, ending="confirmed", at=T0 + DEADLINE)
    assert ledger.end_recharge(recharge_id=recharge, ending="confirmed", at=T0 + DEADLINE).repeated
    assert replay_findings(ledger) == [] and redeemed(ledger) == 50


def replay_findings(ledger: Ledger) -> list[Finding]:
    """What the audit's replay of the whole log finds."""
    return replay(ledger).findings


def test_the_platforms_own_redemption_of_a_recharges_debit_never_grants_twice(
        ledger: Ledger, platform: tuple[FakePlatform, Served]) -> None:
    fake, served = platform
    recharge = ask(ledger)
    message = PAYMENT_MESSAGES.validate_python({"type": "WalletBalanceRedeemed", "redemption_id": str(recharge),
                                                "user_id": "ana", "amount_minor": 500, "currency": "INR"})
    apply_payment(ledger, POLICY, message, at=T0)  # the platform told us on its own channel first
    driver(ledger, adapter(served.url)).drive(T0)
    apply_payment(ledger, POLICY, message, at=T0)  # and again, a redelivery
    assert recharge_of(ledger, user_id="ana", recharge=recharge).status == RechargeStatus.CONFIRMED
    # The redemption under the debit id was the platform's own confirmation: the saga ended on it, asked nothing again.
    assert redeemed(ledger) == 50 and fake.balances["ana"] == 1000
