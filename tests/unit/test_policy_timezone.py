"""The policy's time zone decides which day a share counts against; the wallet keeps the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import Ledger
from service.policy import DEFAULT_POLICY, PolicyError, load_policy

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_policy_day_starts_at_midnight_in_its_time_zone() -> None:
    kolkata = load_policy().model_copy(update={"timezone": "Asia/Kolkata"})
    assert kolkata.day_of(T0 + timedelta(hours=18, minutes=29)) == "2026-01-01"
    assert kolkata.day_of(T0 + timedelta(hours=18, minutes=30)) == "2026-01-02"
    assert load_policy().model_copy(update={"timezone": "UTC"}).day_of(T0 + timedelta(hours=23)) == "2026-01-01"


def test_an_unknown_time_zone_is_refused_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text(DEFAULT_POLICY.read_text().replace('timezone = "Asia/Kolkata"', 'timezone = "Mars/Olympus"'))
    with pytest.raises(PolicyError, match=r"timezone.*Mars/Olympus"):
        load_policy(bad)


def test_a_wallet_restored_from_a_snapshot_without_share_counts_counts_from_zero() -> None:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.grant_share_bonus(user_id="ann", reference="s1", amount=5, at=T0, expires_at=None, day="2026-01-01",
                          daily_cap=1)
    wallet = app.wallet("ann")
    assert wallet is not None and wallet.share_bonuses_on("2026-01-01") == 1
    del wallet.__dict__["share_bonus_days"]  # as in a snapshot taken before wallets kept the count
    assert wallet.share_bonuses_on("2026-01-01") == 0


def test_past_the_cap_a_share_is_recorded_as_earning_nothing_and_stays_so() -> None:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    share = {"user_id": "ann", "amount": 5, "at": T0, "expires_at": None, "day": "2026-01-01", "daily_cap": 1}
    assert app.grant_share_bonus(reference="s1", **share).value == 5  # type: ignore[arg-type]
    capped = app.grant_share_bonus(reference="s2", **share)  # type: ignore[arg-type]
    assert (capped.value, capped.repeated) == (0, False)
    again = app.grant_share_bonus(reference="s2", **{**share, "daily_cap": 5})  # type: ignore[arg-type]
    assert (again.value, again.repeated, again.position) == (0, True, capped.position)
    first = app.grant_share_bonus(reference="s1", **share)  # type: ignore[arg-type]
    assert (first.value, first.repeated) == (5, True)
    wallet = app.wallet("ann")
    assert wallet is not None and wallet.granted == 5
