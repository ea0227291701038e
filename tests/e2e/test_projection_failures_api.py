"""An event the projections cannot apply, in a running service: reads keep following for everyone,
`/readyz` and `/metrics` say what was set aside, and `studio-ledger projections failures` lists it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger import Ledger, Money, Wallet, wallet_id
from service.bootstrap import build_ledger
from service.settings.store import StoreSettings
from tests.conftest import T0
from tests.support.http import bearer, client_for, purchase, service_for, signed

pytestmark = pytest.mark.e2e
HUGE = 10**20


def store_a_redemption_from_before_the_limits(ledger: Ledger) -> int:
    """Store, as an earlier version accepted it, a redemption no read column can hold; its position."""
    wallet = Wallet.open(wallet_id("mallory"), "mallory", T0)
    wallet.trigger_event(Wallet.CreditsRedeemed, timestamp=T0, prev_hash=wallet.last_hash, grant_id="g-huge",
                         credits=HUGE, expires_at=None, price=Money(HUGE, "INR"), reference="red-huge")
    return int(ledger.save(wallet)[-1].notification.id)


def test_reads_keep_following_and_the_set_aside_event_is_reported(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = build_ledger(StoreSettings(backend="sqlite", data_dir=tmp_path))
    poison = store_a_redemption_from_before_the_limits(ledger)
    ledger.close()
    with client_for(service_for("sqlite", tmp_path, with_pipeline=False)) as client:
        body, headers = signed(purchase())
        bought = client.post("/v1/webhooks/payments", content=body, headers=headers).json()
        wallet = client.get(f"/v1/wallet?min_position={bought['position']}", headers=bearer("alice"))
        assert wallet.status_code == 200 and wallet.json()["available"] == 100
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert any(f"position {poison} (CreditsRedeemed)" in line for line in ready.json()["projection_failures"])
        assert 'studio_projection_failures{projection="wallet_balances"} 1.0' in client.get("/metrics").text
    monkeypatch.setenv("STUDIO_STORE", "sqlite")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    listed = CliRunner().invoke(app, ["projections", "failures", "wallet_balances"])
    assert listed.exit_code == 1
    [line] = listed.stdout.splitlines()
    assert line.startswith(f"wallet_balances\t{poison}\tCreditsRedeemed\t{wallet_id('mallory')}\t")
