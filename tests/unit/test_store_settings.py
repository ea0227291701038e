"""Store settings: validated from STUDIO_* variables at start-up, with errors that name the problem."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.bootstrap import build_ledger
from service.settings.store import StoreSettings, describe_invalid

pytestmark = pytest.mark.unit


def test_the_burn_order_is_read_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_BURN_ORDER", "expiry, paid ,oldest")
    assert StoreSettings().burn_order == ("expiry", "paid", "oldest")


def test_an_unknown_burn_order_part_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_BURN_ORDER", "expiry,cheapest")
    with pytest.raises(ValidationError, match="cheapest"):
        StoreSettings()


def test_an_unknown_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_STORE", "mongodb")
    with pytest.raises(ValidationError, match="STUDIO_STORE") as refused:
        StoreSettings()
    assert describe_invalid(refused.value).startswith("STUDIO_STORE: Input should be 'memory', 'sqlite' or")


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres", " postgres", "POSTGRES"])
def test_the_backend_is_still_read_from_studio_store(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    monkeypatch.setenv("STUDIO_STORE", backend)
    if backend in ("memory", "sqlite", "postgres"):
        assert StoreSettings().backend == backend
    else:  # no trimming or folding of case: the value is one of the three, as it always had to be
        with pytest.raises(ValidationError, match="STUDIO_STORE"):
            StoreSettings()


def test_code_names_the_backend_and_an_unknown_one_is_refused_by_that_name() -> None:
    assert StoreSettings(backend="memory").backend == "memory"
    with pytest.raises(ValidationError, match="backend"):
        StoreSettings(backend="mongodb")  # type: ignore[arg-type]


def test_the_configured_burn_order_decides_which_grant_a_hold_takes_first(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from ledger import Money

    monkeypatch.setenv("STUDIO_BURN_ORDER", "paid,oldest")
    ledger = build_ledger(StoreSettings(backend="sqlite", data_dir=tmp_path))
    try:
        now = datetime.now(UTC)
        ledger.grant_promo(user_id="u", reference="p", amount=5, reason="r", at=now, expires_at=None)
        ledger.purchase(user_id="u", payment_id="pay", pack_id="s", amount=5, price=Money(500, "INR"), at=now)
        ledger.place_hold(user_id="u", hold_id="h", amount=5, at=now)
        wallet = ledger.wallet("u")
        assert wallet is not None
        assert [wallet.grants[g].source for g in wallet.holds["h"].portions] == ["purchase"]
    finally:
        ledger.close()


def test_the_old_field_name_is_refused_rather_than_read_as_the_default() -> None:
    # Settings ignore names they do not know: StoreSettings(store="postgres") would otherwise be SQLite.
    with pytest.raises(ValidationError, match="backend="):
        StoreSettings(store="postgres")  # type: ignore[call-arg]
