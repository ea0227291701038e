"""The crash campaign's money checks find each broken promise of a recharge: granted twice, granted without
the platform taking the money, taken and not granted, lost, or a debit for no recharge."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from bench._chaos_money import Recharges, check_recharges, fake_platform
from tests.support.platform_fake import FakePlatform

pytestmark = pytest.mark.unit


def folded(*endings: tuple[str, str]) -> Recharges:
    """Recharges r-1 (ana's) and r-2 (bo's, an auto top-up) asked, ended as ``endings`` say."""
    recharges = Recharges()
    recharges.apply("RechargeRequested", SimpleNamespace(originator_id="r-1", user_id="ana", purpose="recharge"))
    recharges.apply("RechargeRequested", SimpleNamespace(originator_id="r-2", user_id="bo", purpose="auto-top-up"))
    for recharge, kind in endings:
        recharges.apply(kind, SimpleNamespace(originator_id=recharge))
    return recharges


def platform_saying(**debits: str) -> FakePlatform:
    """The fake platform having answered each debit as given."""
    platform = fake_platform(["ana", "bo"])
    platform.debits.update({d: {"debit_id": d, "status": s} for d, s in debits.items()})
    return platform


def grants(**counts: int) -> Counter[tuple[str, str]]:
    """CreditsRedeemed grants per reference."""
    return Counter({("CreditsRedeemed", r.replace("_", "-")): n for r, n in counts.items()})


def test_a_confirmed_and_a_declined_recharge_each_granted_as_the_platform_said_is_no_finding() -> None:
    found = check_recharges(folded(("r-1", "RechargeConfirmed"), ("r-2", "RechargeDeclined")),
                            {"r-1": "ana"}, grants(r_1=1), platform_saying(**{"r-1": "confirmed", "r-2": "declined"}))
    assert found == []


def test_each_broken_promise_is_a_finding() -> None:
    twice = check_recharges(folded(("r-1", "RechargeConfirmed"), ("r-2", "RechargeDeclined")), {}, grants(r_1=2),
                            platform_saying(**{"r-1": "confirmed", "r-2": "declined"}))
    assert twice == ["recharge r-1 of ana: the platform took the money, the ledger ended it ['RechargeConfirmed'] "
                     "and granted it 2 time(s)"]
    unpaid = check_recharges(folded(("r-1", "RechargeConfirmed"), ("r-2", "RechargeDeclined")), {}, grants(r_1=1),
                             platform_saying(**{"r-1": "declined", "r-2": "declined"}))
    assert unpaid == ["recharge r-1 of ana: granted 1 time(s), the platform says declined"]
    open_ = check_recharges(folded(), {"r-9": "cy"}, grants(), platform_saying(**{"r-1": "confirmed", "r-7": "x"}))
    assert open_ == ["recharges answered but not in the ledger: 1, e.g. ['r-9']",
                     "recharge r-1 of ana: the platform took the money, the ledger ended it not at all and granted "
                     "it 0 time(s)", "auto-top-up r-2 of bo: never reached the platform (open)",
                     "debits the platform took for no recharge in the ledger: ['r-7']"]
