"""Spend controls in the wallet: the learner's daily cap, counted on the policy's days atomically with the
holds it limits, and an operator's freeze with a reason."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from functools import partial
from uuid import uuid4

import anyio
import pytest
from eventsourcing.utils import get_topic

from ledger import DailySpendCapReached, FrozenWallet, InvalidCommand, Ledger, Money
from ledger.wallet import Wallet
from media.ports import UploadInfo
from media.templates import load_catalog
from projections.descriptions import describe
from service import spending
from service.errors import InvalidSetting, SpendCapReached
from service.generations import GenerationRequest, request_generation
from service.policy import load_policy
from tests.conftest import T0

pytestmark = pytest.mark.unit
POLICY = load_policy()


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    """A ledger in memory with one learner holding 100 credits."""
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.purchase(user_id="ana", payment_id="pay-1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    yield app
    app.close()


def generate(ledger: Ledger, key: str, *, cost: int = 10, at: datetime = T0, day: str = "2026-01-01") -> object:
    """Request a generation costing ``cost`` on ``day``; its id."""
    return ledger.request_generation(user_id="ana", request_key=key, template_id="poster", template_version=1,
                                     variables={}, input_image=None, cost=cost, at=at, day=day).value


def test_a_generation_past_the_daily_cap_is_refused_before_any_hold(ledger: Ledger) -> None:
    ledger.change_settings(user_id="ana", daily_spend_cap=25, at=T0)
    generate(ledger, "g1")
    generate(ledger, "g2")
    with pytest.raises(DailySpendCapReached) as refused:
        generate(ledger, "g3")
    assert (refused.value.cap, refused.value.spent, refused.value.needed, refused.value.day) == (
        25, 20, 10, "2026-01-01")
    wallet = ledger.wallet("ana")
    assert wallet is not None and len(wallet.holds) == 2 and wallet.held == 20
    generate(ledger, "g4", cost=5)  # what is left of the cap may still be spent


def test_the_cap_counts_each_day_anew_and_returned_credits_are_not_spent(ledger: Ledger) -> None:
    ledger.change_settings(user_id="ana", daily_spend_cap=10, at=T0)
    failed = generate(ledger, "g1")
    ledger.fail_generation(generation_id=failed, reason="model down", retryable=True, at=T0)  # type: ignore[arg-type]
    generate(ledger, "g2")  # the failure gave its 10 back to the day
    with pytest.raises(DailySpendCapReached):
        generate(ledger, "g3")
    wallet = ledger.wallet("ana")
    assert wallet is not None and wallet.spent_on("2026-01-01") == 10
    generate(ledger, "g3", at=T0 + timedelta(hours=20), day="2026-01-02")
    wallet = ledger.wallet("ana")
    assert wallet is not None and wallet.spent_on("2026-01-02") == 10


def test_a_repeated_request_is_not_counted_twice_nor_refused_by_the_cap(ledger: Ledger) -> None:
    ledger.change_settings(user_id="ana", daily_spend_cap=10, at=T0)
    first = generate(ledger, "g1")
    assert generate(ledger, "g1") == first
    wallet = ledger.wallet("ana")
    assert wallet is not None and wallet.spent_on("2026-01-01") == 10


def test_removing_the_cap_lets_spending_go_on(ledger: Ledger) -> None:
    ledger.change_settings(user_id="ana", daily_spend_cap=0, at=T0)
    with pytest.raises(DailySpendCapReached):
        generate(ledger, "g1")
    assert ledger.change_settings(user_id="ana", daily_spend_cap=None, at=T0).value is True
    assert ledger.change_settings(user_id="ana", daily_spend_cap=None, at=T0).repeated
    generate(ledger, "g1")


@pytest.mark.parametrize("cap", [-1, 10**12, True, 2.5])
def test_a_cap_out_of_bounds_is_refused_by_the_wallet(ledger: Ledger, cap: object) -> None:
    with pytest.raises(InvalidCommand, match="daily spend cap"):
        ledger.change_settings(user_id="ana", daily_spend_cap=cap, at=T0)  # type: ignore[arg-type]


def test_a_cap_above_the_policys_maximum_is_refused_naming_the_field(ledger: Ledger) -> None:
    with pytest.raises(InvalidSetting) as refused:
        spending.change_settings(ledger, POLICY, user_id="ana", daily_spend_cap=POLICY.spend.max_daily_cap + 1,
                                 at=T0)
    assert refused.value.field == "daily_spend_cap" and str(POLICY.spend.max_daily_cap) in str(refused.value)


def test_a_frozen_wallet_spends_nothing_until_it_is_unfrozen(ledger: Ledger) -> None:
    ledger.freeze(user_id="ana", reason="chargeback 4521", at=T0)
    with pytest.raises(FrozenWallet) as refused:
        generate(ledger, "g1")
    assert refused.value.reason == "chargeback 4521" and "chargeback 4521" in str(refused.value)
    wallet = ledger.wallet("ana")
    assert wallet is not None and wallet.held == 0 and wallet.frozen == "chargeback 4521"
    assert ledger.freeze(user_id="ana", reason="chargeback 4521", at=T0).repeated
    ledger.freeze(user_id="ana", reason="reviewed: the charge was genuine", frozen=False, at=T0)
    generate(ledger, "g1")
    assert ledger.freeze(user_id="ana", reason="again", frozen=False, at=T0).repeated  # not frozen: no event


def test_a_freeze_needs_a_reason(ledger: Ledger) -> None:
    with pytest.raises(InvalidCommand, match="needs a reason"):
        ledger.freeze(user_id="ana", reason="  ", at=T0)


def test_a_frozen_wallet_still_takes_the_results_of_generations_already_held(ledger: Ledger) -> None:
    held = generate(ledger, "g1")
    ledger.freeze(user_id="ana", reason="fraud review", at=T0)
    ledger.fail_generation(generation_id=held, reason="model down", retryable=True, at=T0)  # type: ignore[arg-type]
    wallet = ledger.wallet("ana")
    assert wallet is not None and wallet.held == 0 and wallet.available(T0) == 100


def test_a_wallet_from_before_the_controls_reads_as_uncapped_and_unfrozen(ledger: Ledger) -> None:
    wallet = ledger.wallet("ana")
    assert wallet is not None
    for name in ("spent_days", "spend_cap", "frozen_for"):
        wallet.__dict__.pop(name, None)  # as in a snapshot taken before wallets kept them
    assert (wallet.daily_spend_cap, wallet.frozen, wallet.spent_on("2026-01-01")) == (None, "", 0)
    wallet.check_spend(10**6, "2026-01-01")


def test_the_cap_resets_at_midnight_in_the_policys_time_zone() -> None:
    ends = POLICY.day_ends(POLICY.day_of(T0))
    assert POLICY.timezone == "Asia/Kolkata"
    assert ends.isoformat() == "2026-01-02T00:00:00+05:30"


def test_the_statement_says_who_froze_and_why() -> None:
    frozen = Wallet.WalletFrozen  # the statement's words come from the event itself
    assert get_topic(frozen) == "ledger.wallet:Wallet.WalletFrozen"
    event = frozen(originator_id=uuid4(), originator_version=2, timestamp=T0, prev_hash="",
                   reason="chargeback 4521")
    assert describe(event, {}, {}) == "Wallet frozen: chargeback 4521"


def test_a_request_past_the_cap_is_refused_naming_the_cap_and_when_it_resets(ledger: Ledger) -> None:
    catalog = load_catalog()
    template = catalog.get("poster-course-launch")
    ledger.change_settings(user_id="ana", daily_spend_cap=template.cost, at=T0)
    asked = [GenerationRequest(user_id="ana", key=f"k-{n}", template_id=template.id,
                               variables={"course": "Intro to SQL", "date": "1 March"}) for n in (1, 2)]
    anyio.run(partial(request_generation, ledger, catalog, NoPhotos(), asked[0], policy=POLICY, at=T0,
                      hold_ttl=timedelta(minutes=10)))
    with pytest.raises(SpendCapReached) as refused:
        anyio.run(partial(request_generation, ledger, catalog, NoPhotos(), asked[1], policy=POLICY, at=T0,
                          hold_ttl=timedelta(minutes=10)))
    assert (refused.value.cap, refused.value.spent, refused.value.needed) == (template.cost, template.cost,
                                                                                template.cost)
    assert refused.value.resets_at == POLICY.day_ends(POLICY.day_of(T0))
    assert "resets at 2026-01-02T00:00:00+05:30" in str(refused.value)


def test_a_frozen_wallet_is_refused_before_its_photo_is_fetched(ledger: Ledger) -> None:
    ledger.freeze(user_id="ana", reason="fraud review", at=T0)
    photos = NoPhotos()
    asked = GenerationRequest(user_id="ana", key="k-1", template_id="profile-avatar", variables={},
                              image_url="https://example.com/me.png")
    with pytest.raises(FrozenWallet, match="fraud review"):
        anyio.run(partial(request_generation, ledger, load_catalog(), photos, asked, policy=POLICY, at=T0,
                          hold_ttl=timedelta(minutes=10)))
    assert photos.asked == []


class NoPhotos:
    """Photos that must not be looked at: every question is noted."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def uploads(self, owner: str) -> Sequence[UploadInfo]:
        """No uploads."""
        self.asked.append(owner)
        return []

    async def fetch(self, url: str) -> object:
        """Nothing fetched."""
        self.asked.append(url)
        return object()
