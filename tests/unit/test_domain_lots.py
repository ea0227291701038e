"""The arithmetic over grants and holds: burn order, what a hold takes, how it ends, what has
expired and what a refund pays."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ledger.errors import InsufficientCredits
from ledger.lots import (
    BURN_ORDER_PARTS,
    DEFAULT_BURN_ORDER,
    available,
    burn_key,
    by_source,
    ending,
    expired_remainders,
    refund,
    split,
    take,
)
from ledger.values import Grant, Hold, Money
from tests.conftest import T0

pytestmark = pytest.mark.unit
DAY = timedelta(days=1)


def grant(grant_id: str, source: str, amount: int, version: int, expires_at: datetime | None = None,
          closed: str | None = None, price: Money | None = None) -> Grant:
    return Grant(grant_id=grant_id, source=source, amount=amount, remaining=amount, expires_at=expires_at,
                 price=price, version=version, closed=closed)


def hold(portions: dict[str, int]) -> Hold:
    return Hold(hold_id="h", amount=sum(portions.values()), portions=portions, expires_at=T0 + DAY, digest="d",
                placed_version=9)


GRANTS = [
    grant("old-paid", "purchase", 10, version=2),
    grant("new-promo", "promo", 10, version=5),
    grant("old-promo", "referral", 10, version=3),
    grant("expiring-paid", "purchase", 10, version=4, expires_at=T0 + DAY),
]


def ordered(order: tuple[str, ...]) -> list[str]:
    return [g.grant_id for g in sorted(GRANTS, key=lambda g: burn_key(g, order))]


def test_the_default_burn_order_is_soonest_expiry_then_free_before_paid_then_oldest() -> None:
    assert ordered(DEFAULT_BURN_ORDER) == ["expiring-paid", "old-promo", "new-promo", "old-paid"]


def test_other_burn_orders_put_paid_or_newest_credits_first() -> None:
    assert ordered(("paid", "oldest")) == ["old-paid", "expiring-paid", "old-promo", "new-promo"]
    assert ordered(("newest",)) == ["new-promo", "expiring-paid", "old-promo", "old-paid"]


def test_every_part_the_settings_accept_in_a_burn_order_sorts_grants() -> None:
    # The settings check a configured order against BURN_ORDER_PARTS: each must be one burn_key knows.
    assert set(DEFAULT_BURN_ORDER) <= set(BURN_ORDER_PARTS)
    for part in BURN_ORDER_PARTS:
        assert sorted(ordered((part,))) == sorted(g.grant_id for g in GRANTS)


def test_a_hold_takes_whole_grants_in_burn_order_and_part_of_the_last() -> None:
    assert take(GRANTS, 25, T0, DEFAULT_BURN_ORDER, "ana") == {"expiring-paid": 10, "old-promo": 10, "new-promo": 5}


def test_taking_more_than_the_usable_grants_hold_names_the_shortfall() -> None:
    with pytest.raises(InsufficientCredits) as raised:
        take(GRANTS, 35, T0 + DAY, DEFAULT_BURN_ORDER, "ana")  # the expiring grant is no longer usable
    assert (raised.value.wallet, raised.value.needed, raised.value.available) == ("ana", 35, 30)


def test_only_usable_credits_are_available() -> None:
    closed = grant("refunded", "purchase", 10, version=6, closed="refunded")
    assert available([*GRANTS, closed], T0) == 40
    assert available([*GRANTS, closed], T0 + DAY) == 30
    assert by_source([*GRANTS, closed], T0 + DAY) == {"purchase": 10, "promo": 10, "referral": 10}


def test_a_split_consumes_the_first_credits_of_a_hold_in_its_order() -> None:
    assert split({"a": 3, "b": 4}, 5) == ({"a": 3, "b": 2}, {"b": 2})
    assert split({"a": 3, "b": 4}, 0) == ({}, {"a": 3, "b": 4})
    assert split({"a": 3, "b": 4}, 7) == ({"a": 3, "b": 4}, {})


def test_a_hold_ends_by_returning_credits_only_to_grants_still_usable() -> None:
    grants = {g.grant_id: g for g in [grant("live", "purchase", 10, version=1),
                                      grant("lapsed", "promo", 10, version=2, expires_at=T0 + DAY),
                                      grant("refunded", "purchase", 10, version=3, closed="refunded")]}
    result = ending(hold({"live": 2, "lapsed": 3, "refunded": 4}), grants, 1, T0 + DAY)
    assert result == {"hold_id": "h", "consumed": {"live": 1}, "returned": {"live": 1},
                      "expired": {"lapsed": 3}, "clawed_back": {"refunded": 4}}


def test_expired_remainders_are_the_credits_left_in_open_grants_past_their_expiry() -> None:
    spent = grant("spent", "promo", 10, version=7, expires_at=T0 + DAY)
    spent.remaining = 0
    closed = grant("closed", "referral", 10, version=8, expires_at=T0 + DAY, closed="reversed")
    assert expired_remainders([*GRANTS, spent, closed], T0 + DAY) == {"expiring-paid": 10}
    assert expired_remainders(GRANTS, T0) == {}


def test_a_refund_pays_back_the_clawed_back_share_of_the_price_rounded_down() -> None:
    paid = grant("p", "purchase", 3, version=1, price=Money(1000, "INR"))
    assert refund(paid, 2) == Money(666, "INR")
    assert refund(paid, 3) == Money(1000, "INR")
