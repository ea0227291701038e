"""The daily share-bonus cap is kept by the wallet, atomically with each grant."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from ledger import Ledger, Money
from projections.audit.replay import replay
from service.policy import Policy, load_policy
from service.shares import grant_share_bonus
from tests.conftest import T0

pytestmark = pytest.mark.integration
POLICY = load_policy().model_copy(update={"timezone": "UTC"})


@pytest.fixture(params=[False, True], ids=["direct", "group-commit"])
def pg_ledger(request: pytest.FixtureRequest, pg_env: dict[str, str]) -> Iterator[Ledger]:
    """A ledger on PostgreSQL."""
    app = Ledger(pg_env, group_commit=request.param)
    yield app
    app.close()


def shared_images(ledger: Ledger, user: str, count: int, at: datetime, prefix: str = "k") -> list[UUID]:
    """``count`` finished images of ``user``, each shared at ``at``."""
    if ledger.wallet(user) is None:
        ledger.purchase(user_id=user, payment_id=f"p-{user}", pack_id="studio", amount=1000,
                        price=Money(99900, "INR"), at=T0)
    images = []
    for n in range(count):
        generation = ledger.request_generation(
            user_id=user, request_key=f"{prefix}{n}", template_id="poster", template_version=1, variables={},
            input_image=None, cost=1, at=at - timedelta(minutes=1)).value
        ledger.complete_generation(generation_id=generation, at=at - timedelta(seconds=30), image_url="/i.png",
                                   storage_id="s", provider="local", model="m", seed=1, timings={})
        ledger.share_generation(generation_id=generation, user_id=user, token=f"{prefix}{n}", at=at)
        images.append(generation)
    return images


def bonuses(ledger: Ledger, policy: Policy, user: str, images: list[UUID], threads: int = 20) -> list[int]:
    """The bonus each share earned, the shares sent concurrently."""

    def share(image: UUID) -> int:
        return int(grant_share_bonus(ledger, policy, user_id=user, generation_id=image).value)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(share, images))


def test_twenty_concurrent_shares_earn_exactly_the_daily_cap(pg_ledger: Ledger) -> None:
    rule = POLICY.share
    images = shared_images(pg_ledger, "alice", 20, T0 + timedelta(hours=6))
    granted = bonuses(pg_ledger, POLICY, "alice", images)
    assert sorted(granted, reverse=True) == [rule.credits] * rule.max_bonuses_per_day + [0] * (
        20 - rule.max_bonuses_per_day)
    wallet = pg_ledger.wallet("alice")
    assert wallet is not None and wallet.granted == 1000 + rule.credits * rule.max_bonuses_per_day
    assert bonuses(pg_ledger, POLICY, "alice", images) == granted  # each share's decision stands
    assert replay(pg_ledger).findings == []  # the audit reads the capped decisions as clean


def test_the_cap_counts_the_days_of_the_policys_time_zone(pg_ledger: Ledger) -> None:
    kolkata = POLICY.model_copy(update={"timezone": "Asia/Kolkata"})
    credits, cap = POLICY.share.credits, POLICY.share.max_bonuses_per_day
    # 1 January 17:00 UTC is 22:30 in Kolkata; 18:40 UTC is already 2 January there.
    first_day = shared_images(pg_ledger, "bob", cap, T0 + timedelta(hours=17), prefix="a")
    assert bonuses(pg_ledger, kolkata, "bob", first_day) == [credits] * cap
    next_day = shared_images(pg_ledger, "bob", cap + 1, T0 + timedelta(hours=18, minutes=40), prefix="b")
    assert [bonuses(pg_ledger, kolkata, "bob", [image])[0] for image in next_day] == [credits] * cap + [0]
    utc = shared_images(pg_ledger, "carol", cap + 1, T0 + timedelta(hours=17), prefix="a")
    utc += shared_images(pg_ledger, "carol", 1, T0 + timedelta(hours=18, minutes=40), prefix="b")
    assert [bonuses(pg_ledger, POLICY, "carol", [image])[0] for image in utc] == [credits] * cap + [0, 0]
