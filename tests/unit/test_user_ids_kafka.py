"""Kafka's inbound messages apply the one rule for a user id: a bad one is dead-lettered with its reason,
naming the field, and opens no wallet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.inbound import PAYMENTS, PURCHASE, REFERRALS, Consumers

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("user_id", "ana ", "user_id must not begin or end with whitespace"),
    ("user_id", "a\u200bna", "user_id must not contain an invisible format character (U+200B at character 2)"),
    ("user_id", "an\x07a", "user_id must not contain a control character (U+0007 at character 3)"),
])
async def test_a_payment_for_a_user_id_that_breaks_the_rule_is_dead_lettered_naming_the_field(
        consumers: Consumers, field: str, value: str, reason: str) -> None:
    await consumers.broker.publish({**PURCHASE, field: value}, topic=PAYMENTS)
    [(_, headers)] = consumers.dead[f"{PAYMENTS}.dlq"]
    assert headers["x-error"] == "schema-violation"
    assert field in headers["x-error-message"] and reason in headers["x-error-message"]
    assert consumers.ledger.wallet(value) is None and consumers.ledger.wallet("ana") is None


async def test_a_referral_from_a_to_a_with_a_trailing_space_is_dead_lettered_not_paid(consumers: Consumers) -> None:
    await consumers.broker.publish({"type": "ReferralConverted", "referral_id": "r-1", "referrer_user_id": "a",
                                    "referee_user_id": "a ", "occurred_at": datetime.now(UTC).isoformat()},
                                   topic=REFERRALS)
    [(_, headers)] = consumers.dead[f"{REFERRALS}.dlq"]
    assert headers["x-error"] == "schema-violation"
    assert "referee_user_id must not begin or end with whitespace" in headers["x-error-message"]
    assert consumers.ledger.wallet("a") is None and consumers.ledger.wallet("a ") is None
