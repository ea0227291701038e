"""A month of mixed activity on a ledger, drawn from a seeded random generator: purchases and redemptions in
two currencies at awkward prices, bonuses that expire, adjustments both ways, generations captured, failed,
late or left to lapse, plain holds, refunds and expiry sweeps."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import Ledger, Money
from ledger.errors import LedgerError
from tests.support.ledgers import complete, request

MONTH = datetime(2026, 1, 1, tzinfo=UTC)
USERS = ("asha", "bilal", "chen", "dev", "esther", "farah")


def busy_month(app: Ledger, *, seed: int = 24, days: int = 31, per_day: int = 14) -> dict[str, int]:
    """Run ``per_day`` random commands a day for ``days`` days from January 2026; how many of each kind applied."""
    draw = random.Random(seed)
    done: dict[str, int] = {}
    payments: list[str] = []
    serial = iter(range(1_000_000))

    def money() -> Money:
        return Money(draw.randint(101, 99_991), draw.choice(("INR", "INR", "USD")))

    def purchase(user: str, at: datetime) -> Any:
        payment = f"pay-{next(serial)}"
        payments.append(payment)
        return app.purchase(user_id=user, payment_id=payment, pack_id="pack", amount=draw.randint(7, 130),
                            price=money(), at=at)

    def redeem(user: str, at: datetime) -> Any:
        return app.redeem(user_id=user, redemption_id=f"red-{next(serial)}", amount=draw.randint(3, 60),
                          value=Money(draw.randint(99, 20_001), "INR"), at=at)

    def promo(user: str, at: datetime) -> Any:
        return app.grant_promo(user_id=user, reference=f"promo-{next(serial)}", amount=draw.randint(1, 25),
                               reason="campaign", at=at, expires_at=at + timedelta(days=draw.randint(1, 6)))

    def referral(user: str, at: datetime) -> Any:
        other = draw.choice([u for u in USERS if u != user])
        return app.grant_referral_bonus(
            referral_id=f"ref-{next(serial)}", awards=[{"user_id": user, "credits": 10, "role": "referrer"},
                                                       {"user_id": other, "credits": 5, "role": "referee"}],
            at=at, expires_at=at + timedelta(days=draw.randint(2, 9)))

    def share(user: str, at: datetime) -> Any:
        return app.grant_share_bonus(user_id=user, reference=f"share-{next(serial)}", amount=2, at=at,
                                     expires_at=None)

    def adjust(user: str, at: datetime) -> Any:
        delta = draw.choice((-1, 1)) * draw.randint(1, 15)
        return app.adjust(user_id=user, reference=f"adj-{next(serial)}", delta=delta, reason="correction", at=at)

    def generate(user: str, at: datetime) -> Any:
        gen = request(app, user, f"g-{next(serial)}", draw.randint(1, 20), at)
        ending = draw.random()
        if ending < 0.6:
            complete(app, gen, at + timedelta(minutes=1))
        elif ending < 0.75:
            app.fail_generation(generation_id=gen, reason="model down", retryable=True, at=at + timedelta(minutes=1))
        elif ending < 0.9:
            complete(app, gen, at + timedelta(minutes=40))  # after its hold lapsed: charged again or written off
        return gen  # else left to lapse

    def hold(user: str, at: datetime) -> Any:
        hold_id = f"hold-{next(serial)}"
        amount = draw.randint(1, 12)
        app.place_hold(user_id=user, hold_id=hold_id, amount=amount, at=at)
        if draw.random() < 0.5:
            return app.capture(user_id=user, hold_id=hold_id, amount=draw.randint(0, amount),
                               at=at + timedelta(minutes=2))
        return app.release(user_id=user, hold_id=hold_id, at=at + timedelta(minutes=2))

    def refund(user: str, at: datetime) -> Any:
        if not payments:
            raise LookupError
        return app.refund_purchase(payment_id=payments.pop(draw.randrange(len(payments))), at=at)

    steps: dict[str, tuple[Callable[[str, datetime], Any], int]] = {
        "purchase": (purchase, 5), "redemption": (redeem, 2), "promo": (promo, 2), "referral": (referral, 1),
        "share": (share, 1), "adjustment": (adjust, 1), "generation": (generate, 10), "hold": (hold, 2),
        "refund": (refund, 1)}
    names = list(steps)
    weights = [w for _, w in steps.values()]
    for day in range(days):
        for slot in range(per_day):
            at = MONTH + timedelta(days=day, minutes=slot * 95 + draw.randint(0, 50))
            name = draw.choices(names, weights)[0]
            try:
                steps[name][0](draw.choice(USERS), at)
            except (LedgerError, LookupError):
                continue  # not enough credits, a frozen or unknown wallet: the month goes on
            done[name] = done.get(name, 0) + 1
        for user in USERS:  # the nightly sweep
            if app.wallet(user) is not None:
                app.expire_credits(user_id=user, at=MONTH + timedelta(days=day, hours=23, minutes=59))
    return done
