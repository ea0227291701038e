"""A small made-up month of generations whose margins are worked out by hand (tests/unit/test_margins.py).

Ann buys 100 credits for INR 1000.00 (10.00 a credit), Bob 50 for USD 9.99 (19.98 cents a credit, released
as ``999 * k // 50``), Cat gets 20 promo credits. Reported in INR at 1 USD = INR 84.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import Ledger, Money

MARCH = datetime(2026, 3, 2, 10, tzinfo=UTC)
RATES = "INR=84"


def cost(provider: str, calls: int, micro_usd: int | None, model: str = "m") -> dict[str, Any]:
    """A worker's report of what a generation's calls cost."""
    source = "unknown" if micro_usd is None else "price" if calls else "none"
    return {"provider": provider, "model": model, "calls": calls, "micro_usd": micro_usd, "source": source}


def made(app: Ledger, user: str, key: str, template: str, credits: int, at: datetime, *, provider: str,
         spent: dict[str, Any] | None, failed: bool = False) -> Any:
    """Request a generation of ``template`` and end it a minute later, as a worker reported."""
    gen = app.request_generation(user_id=user, request_key=key, template_id=template, template_version=1,
                                 variables={}, input_image=None, cost=credits, at=at).value
    end = at + timedelta(minutes=1)
    if failed:
        app.fail_generation(generation_id=gen, reason="provider_error", retryable=False, at=end, provider_cost=spent)
    else:
        app.complete_generation(generation_id=gen, at=end, image_url="file:///x.png", storage_id=key,
                                provider=provider, model="m", seed=1, timings={}, provider_cost=spent)
    return gen


def margins_month(app: Ledger) -> Ledger:
    """The month: six generations over two days of March, one in April, one never finished."""
    app.purchase(user_id="ann", payment_id="p-ann", pack_id="big", amount=100, price=Money(100_000, "INR"),
                 at=MARCH - timedelta(days=1))
    app.purchase(user_id="bob", payment_id="p-bob", pack_id="usd", amount=50, price=Money(999, "USD"),
                 at=MARCH - timedelta(days=1))
    app.grant_promo(user_id="cat", reference="launch", amount=20, reason="launch", at=MARCH - timedelta(days=1),
                    expires_at=None)
    day2 = MARCH + timedelta(days=1)
    made(app, "ann", "g1", "poster", 5, MARCH, provider="replicate", spent=cost("replicate", 1, 3000))
    made(app, "ann", "g2", "avatar", 10, MARCH, provider="replicate", spent=cost("replicate", 2, 80_000))
    made(app, "ann", "g3", "poster", 5, MARCH, provider="replicate", spent=cost("replicate", 1, 3000), failed=True)
    made(app, "bob", "g4", "poster", 5, day2, provider="openai", spent=cost("openai", 1, 63_000))
    made(app, "cat", "g5", "poster", 5, day2, provider="replicate", spent=cost("replicate", 1, 3000))
    made(app, "ann", "g6", "poster", 5, day2, provider="replicate", spent=None)  # from before costs were kept
    app.request_generation(user_id="ann", request_key="g8", template_id="poster", template_version=1, variables={},
                           input_image=None, cost=5, at=day2 + timedelta(hours=1))  # never finished
    made(app, "ann", "g7", "poster", 5, datetime(2026, 4, 1, 9, tzinfo=UTC), provider="replicate",
         spent=cost("replicate", 1, 3000))
    return app
