"""The inbound consumers at their edges: a partner's clock far off, or an error nobody foresaw, is a dead
letter with its reason, never a message retried for ever in front of its partition."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from api.messaging.inbound import build_inbound
from ledger import Ledger
from service.policy import load_policy
from tests.support.inbound import PAYMENTS, PURCHASE, REFERRALS, SETTINGS, Consumers

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("stamp", "code"), [
    ("2035-01-01T00:00:00Z", "occurred-in-future"),
    ("9999-12-31T23:59:59Z", "occurred-in-future"),
    ("2001-01-01T00:00:00Z", "occurred-too-long-ago"),
])
async def test_a_referral_stamped_far_from_the_service_clock_is_dead_lettered_with_its_reason(
        consumers: Consumers, stamp: str, code: str) -> None:
    await consumers.broker.publish({"type": "ReferralConverted", "referral_id": "ref-1", "referrer_user_id": "ana",
                                    "referee_user_id": "bo", "occurred_at": stamp}, topic=REFERRALS)
    [(_, headers)] = consumers.dead[f"{REFERRALS}.dlq"]
    assert headers["x-error"] == code and "occurred_at" in headers["x-error-message"]
    assert consumers.ledger.wallet("ana") is None


async def test_a_purchase_stamped_ahead_within_the_skew_is_applied_at_the_service_clock(consumers: Consumers) -> None:
    before = datetime.now(UTC)
    stamp = (before + timedelta(minutes=4)).isoformat()
    await consumers.broker.publish({**PURCHASE, "occurred_at": stamp}, topic=PAYMENTS)
    wallet = consumers.ledger.wallet("ana")
    assert wallet is not None and before <= wallet.modified_on <= datetime.now(UTC)
    assert consumers.dead[f"{PAYMENTS}.dlq"] == []


async def test_an_error_nobody_foresaw_is_dead_lettered_once_not_redelivered(memory_ledger: Ledger) -> None:
    calls: list[str] = []

    def broken(*args: Any, **kwargs: Any) -> None:
        calls.append("called")
        raise OverflowError("date value out of range")

    under_test = Consumers(memory_ledger, build_inbound(memory_ledger, load_policy(), SETTINGS,
                                                        apply_payment=broken, retry_delays=(0,)))
    async with TestKafkaBroker(under_test.broker):
        await under_test.broker.publish(PURCHASE, topic=PAYMENTS)
    assert calls == ["called"]
    [(value, headers)] = under_test.dead[f"{PAYMENTS}.dlq"]
    assert headers["x-error"] == "unprocessable"
    assert headers["x-error-message"] == "OverflowError: date value out of range"
    assert json.loads(value) == PURCHASE
