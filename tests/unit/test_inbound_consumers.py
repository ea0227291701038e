"""The inbound consumers' handler logic through FastStream's TestKafkaBroker (no broker, memory store)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from api.messaging.inbound import build_inbound
from ledger import Ledger
from service.policy import load_policy
from tests.support.inbound import PAYMENTS, PURCHASE, REFERRALS, SETTINGS, Consumers

pytestmark = pytest.mark.unit


async def test_a_purchase_message_credits_the_wallet(consumers: Consumers) -> None:
    await consumers.broker.publish(PURCHASE, topic=PAYMENTS)
    assert consumers.available("ana") == 100


async def test_a_duplicate_purchase_message_credits_once(consumers: Consumers) -> None:
    for _ in range(3):
        await consumers.broker.publish(PURCHASE, topic=PAYMENTS)
    assert consumers.available("ana") == 100
    assert consumers.dead[f"{PAYMENTS}.dlq"] == []


async def test_a_message_without_content_type_is_read_as_json(consumers: Consumers) -> None:
    await consumers.broker.publish(json.dumps(PURCHASE).encode(), topic=PAYMENTS)
    assert consumers.available("ana") == 100


async def test_a_referral_conversion_credits_referrer_and_referee(consumers: Consumers) -> None:
    await consumers.broker.publish({"type": "ReferralConverted", "referral_id": "ref-1", "referrer_user_id": "ana",
                                    "referee_user_id": "bo", "occurred_at": datetime.now(UTC).isoformat()},
                                   topic=REFERRALS)
    assert (consumers.available("ana"), consumers.available("bo")) == (50, 20)


@pytest.mark.parametrize(("body", "error"), [
    (b"{not json", "invalid-json"),
    ({"type": "CreditPackPurchased", "payment_id": "p-2"}, "schema-violation"),
    ({**PURCHASE, "payment_id": "p-3", "pack_id": "mega"}, "unknown-pack"),
    ({**PURCHASE, "payment_id": "p-4", "amount_minor": 100}, "price-mismatch"),
    ({"type": "PaymentRefunded", "payment_id": "never-paid"}, "unknown-reference"),
])
async def test_a_bad_payment_message_goes_to_the_dead_letter_topic_with_its_reason(
    consumers: Consumers, body: Any, error: str,
) -> None:
    await consumers.broker.publish(body, topic=PAYMENTS)
    [(value, headers)] = consumers.dead[f"{PAYMENTS}.dlq"]
    assert headers["x-error"] == error
    assert headers["x-original-topic"] == PAYMENTS
    assert {"x-error-message", "x-original-partition", "x-original-offset"} <= set(headers)
    assert value == body if isinstance(body, bytes) else json.loads(value) == body
    assert consumers.ledger.wallet("ana") is None


async def test_a_payment_id_reused_with_another_pack_is_dead_lettered_as_a_conflict(consumers: Consumers) -> None:
    await consumers.broker.publish(PURCHASE, topic=PAYMENTS)
    await consumers.broker.publish({**PURCHASE, "pack_id": "creator", "amount_minor": 4900}, topic=PAYMENTS)
    [(_, headers)] = consumers.dead[f"{PAYMENTS}.dlq"]
    assert headers["x-error"] == "conflicting-command"
    assert consumers.available("ana") == 100


async def test_reversing_an_unknown_referral_is_dead_lettered(consumers: Consumers) -> None:
    await consumers.broker.publish({"type": "ReferralReversed", "referral_id": "nope"}, topic=REFERRALS)
    [(_, headers)] = consumers.dead[f"{REFERRALS}.dlq"]
    assert headers["x-error"] == "unknown-reference"


async def test_a_transient_failure_is_not_dead_lettered(memory_ledger: Ledger) -> None:
    calls: list[str] = []

    def unavailable(*args: Any, **kwargs: Any) -> None:
        calls.append("called")
        raise ConnectionError("database unreachable")

    under_test = Consumers(memory_ledger, build_inbound(memory_ledger, load_policy(), SETTINGS,
                                                        apply_payment=unavailable, retry_delays=(0,)))
    async with TestKafkaBroker(under_test.broker):
        await under_test.broker.publish(PURCHASE, topic=PAYMENTS)
    assert calls == ["called"]
    assert under_test.dead[f"{PAYMENTS}.dlq"] == []


async def test_a_partners_trace_context_makes_applying_its_message_part_of_its_trace(memory_ledger: Ledger) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from service import tracing

    spans = InMemorySpanExporter()
    tracing.configure("test", exporter=spans)
    try:
        under_test = Consumers(memory_ledger, build_inbound(memory_ledger, load_policy(), SETTINGS, retry_delays=(0,)))
        async with TestKafkaBroker(under_test.broker):
            partner = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            await under_test.broker.publish(PURCHASE, topic=PAYMENTS, headers={"traceparent": partner})
    finally:
        tracing.shutdown()
    applied = [s for s in spans.get_finished_spans() if s.name == f"{PAYMENTS} process"]
    assert len(applied) == 1 and applied[0].parent is not None
    assert (f"{applied[0].context.trace_id:032x}", f"{applied[0].parent.span_id:016x}") == (
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert under_test.available("ana") == 100
