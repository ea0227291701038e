"""A ledger with events of every kind an audit folds, and the steps that make them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ledger import Ledger, Money

T0 = datetime(2026, 1, 1, tzinfo=UTC)


IST = timezone(timedelta(hours=5, minutes=30))


def request(app: Ledger, user: str, key: str, cost: int, at: datetime) -> Any:
    """Request a generation of the "poster" template for ``user``; its id."""
    return app.request_generation(user_id=user, request_key=key, template_id="poster", template_version=1,
                                  variables={"name": key}, input_image=None, cost=cost, at=at).value


def complete(app: Ledger, gen: Any, at: datetime) -> None:
    """Complete the generation ``gen`` with a stored image."""
    app.complete_generation(generation_id=gen, at=at, image_url="file:///x.png", storage_id="x", provider="local",
                            model="m", seed=7, timings={"render": 0.1})


def busy_ledger(app: Ledger) -> list[tuple[datetime, str, int, dict[str, int]]]:
    """Every kind of event on two wallets; returns (instant, user, available, by source) seen along the way."""
    seen: list[tuple[datetime, str, int, dict[str, int]]] = []

    def note(at: datetime, *users: str) -> None:
        for user in users:
            wallet = app.wallet(user)
            assert wallet is not None
            seen.append((at, user, wallet.available(at), wallet.by_source(at)))

    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(999, "USD"), at=T0)
    app.redeem(user_id="bob", redemption_id="w1", amount=40, value=Money(4000, "INR"), at=T0.astimezone(IST))
    app.grant_promo(user_id="ann", reference="launch", amount=20, reason="launch", at=T0,
                    expires_at=T0 + timedelta(days=1))
    app.grant_referral_bonus(referral_id="r1", awards=[{"user_id": "ann", "credits": 10, "role": "referrer"},
                                                       {"user_id": "bob", "credits": 5, "role": "referee"}],
                             at=T0 + timedelta(hours=1), expires_at=T0 + timedelta(days=30))
    note(T0 + timedelta(hours=1), "ann", "bob")
    app.change_settings(user_id="ann", daily_spend_cap=500, at=T0 + timedelta(hours=1))  # spend controls
    app.freeze(user_id="bob", reason="chargeback 4521", at=T0 + timedelta(hours=1))
    app.freeze(user_id="bob", reason="reviewed", frozen=False, at=T0 + timedelta(hours=1))
    complete(app, request(app, "ann", "g1", 25, T0 + timedelta(hours=2)), T0 + timedelta(hours=2, minutes=1))
    gen = request(app, "ann", "g2", 10, T0 + timedelta(hours=3))
    app.fail_generation(generation_id=gen, reason="model down", retryable=True, at=T0 + timedelta(hours=3, minutes=1))
    complete(app, request(app, "bob", "g3", 30, T0 + timedelta(hours=4)), T0 + timedelta(hours=5))  # late, charged
    complete(app, request(app, "bob", "g4", 15, T0 + timedelta(hours=6)), T0 + timedelta(hours=7))  # written off
    note(T0 + timedelta(hours=7), "ann", "bob")
    request(app, "ann", "g5", 5, T0 + timedelta(hours=20))  # left to expire
    app.expire_credits(user_id="ann", at=T0 + timedelta(days=2))
    note(T0 + timedelta(days=2), "ann")
    app.adjust(user_id="ann", reference="fix-1", delta=-3, reason="double credit", at=T0 + timedelta(days=3))
    app.adjust(user_id="bob", reference="fix-2", delta=8, reason="goodwill", at=T0 + timedelta(days=3))
    app.grant_share_bonus(user_id="bob", reference="share-1", amount=2, at=T0 + timedelta(days=3), expires_at=None)
    app.reverse_referral(referral_id="r1", at=T0 + timedelta(days=4))
    app.refund_purchase(payment_id="p1", at=T0 + timedelta(days=5))
    note(T0 + timedelta(days=5), "ann", "bob")
    return seen
