"""The credit policy: every pack is worth buying, and a policy where one is not is refused naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.policy import DEFAULT_POLICY, PolicyError, load_policy

pytestmark = pytest.mark.unit


def test_every_shipped_pack_gives_at_least_the_credits_per_rupee_of_redemption() -> None:
    policy = load_policy()
    rate = policy.redemption
    for pack in policy.packs:
        assert pack.currency == rate.currency
        assert pack.credits >= rate.credits_for(pack.price_minor), (
            f"{pack.id}: {pack.credits} credits for {pack.price_minor} {pack.currency}, "
            f"redeeming that gives {rate.credits_for(pack.price_minor)}")


def test_bigger_shipped_packs_give_more_credits_per_rupee() -> None:
    packs = sorted(load_policy().packs, key=lambda p: p.price_minor)
    per_rupee = [p.credits / p.price_minor for p in packs]
    assert per_rupee == sorted(per_rupee)


def test_a_pack_worth_less_than_redemption_is_refused_naming_the_pack(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY.read_text().replace("price_minor = 900\n", "price_minor = 9900\n", 1))
    with pytest.raises(PolicyError, match=r"pack 'starter' gives 1\.01 credits per INR, fewer than the 10 of "
                                          r"redemption: 9900 INR minor units redeemed give 990 credits, the pack 100"):
        load_policy(policy)


def test_a_pack_in_another_currency_than_redemption_is_not_compared(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY.read_text() + '\n[[packs]]\nid = "usd"\ntitle = "Dollars"\ncredits = 1\n'
                      'price_minor = 100000\ncurrency = "USD"\n')
    assert load_policy(policy).pack("usd") is not None


def test_the_shipped_share_bonus_is_less_than_every_shipped_template_costs() -> None:
    from service.bootstrap import build_catalog
    from service.policy import check_share_bonus

    policy = load_policy()
    costs = {t.id: t.cost for t in build_catalog().all()}
    assert policy.share.credits < min(costs.values())
    check_share_bonus(policy, costs, source=DEFAULT_POLICY)


def test_a_share_bonus_that_pays_for_its_own_generation_is_refused_naming_bonus_and_template() -> None:
    from service.policy import check_share_bonus

    policy = load_policy().model_copy(update={"share": load_policy().share.model_copy(update={"credits": 5})})
    costs = {"poster": 5, "tip": 2, "avatar": 3}
    with pytest.raises(PolicyError, match=r"policy\.toml: the share bonus \(5 credits, \[share\] credits\) pays for "
                                          r"its own generation: template 'tip' costs 2"):
        check_share_bonus(policy, costs, source=DEFAULT_POLICY)
    # Equal to a cost is refused too: the share would make that image free.
    check_share_bonus(policy, {"poster": 6}, source=DEFAULT_POLICY)
    with pytest.raises(PolicyError, match="template 'poster' costs 5"):
        check_share_bonus(policy, {"poster": 5}, source=DEFAULT_POLICY)
