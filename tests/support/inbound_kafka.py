"""The inbound topics' messages and settings, and waiting for what the consumers apply."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ledger import Ledger
from service.settings.messaging import MessagingSettings
from tests.support.kafka_broker import (
    NOIDA_SESSION_TIMEOUT_MS,
    unique_name,
)

NOW = datetime.now(UTC)  # messages without a time of their own get the broker's, which is now


def purchase(payment_id: str, user: str = "ana", pack_id: str = "starter", amount_minor: int = 900) -> bytes:
    """A CreditPackPurchased message as the payment flow sends it."""
    return json.dumps({"type": "CreditPackPurchased", "payment_id": payment_id, "user_id": user, "pack_id": pack_id,
                       "amount_minor": amount_minor, "currency": "INR", "occurred_at": NOW.isoformat()}).encode()


def referral(referral_id: str, referrer: str = "ana", referee: str = "bo") -> bytes:
    """A ReferralConverted message as the affiliate system sends it."""
    return json.dumps({"type": "ReferralConverted", "referral_id": referral_id, "referrer_user_id": referrer,
                       "referee_user_id": referee, "occurred_at": NOW.isoformat()}).encode()


def messaging_settings(servers: str) -> MessagingSettings:
    """Topics and group ids of this test only; the broker's shortest session timeout."""
    return MessagingSettings(kafka_bootstrap_servers=servers, referrals_topic=unique_name("affiliate.referrals"),
                             payments_topic=unique_name("payments.events"),
                             referral_group_id=unique_name("g-referrals"), payment_group_id=unique_name("g-payments"),
                             consumer_session_timeout_ms=NOIDA_SESSION_TIMEOUT_MS,
                             consumer_rebalance_timeout_ms=NOIDA_SESSION_TIMEOUT_MS)


def available(ledger: Ledger, user: str) -> int:
    """The user's available credits at the time the messages carry."""
    wallet = ledger.wallet(user)
    return 0 if wallet is None else wallet.available(NOW)


async def eventually(check: Callable[[], Any], expected: Any, within: float = 20.0) -> None:
    """Wait until ``check()`` (run in a thread) returns ``expected``; fail with the last value if it never does."""
    value = None
    try:
        async with asyncio.timeout(within):
            while (value := await asyncio.to_thread(check)) != expected:
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"still {value!r} after {within}s, expected {expected!r}") from None

