"""The boundary campaign on the inbound topics: whatever a partner publishes is applied or dead-lettered
with its reason, never retried forever, and never leaves a wallet unable to spend at the service's time.

Messages come from the published message schemas with hostile values swapped in (tests/support/hostile.py)
and go through the consumers' whole FastStream path (decoder, validation, dead letters) on a test broker.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaMessage, TestKafkaBroker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.messaging.dead_letters import error_code
from api.messaging.inbound import build_inbound
from ledger import Ledger, LedgerError
from service import payments, referrals
from service.messages import PAYMENT_MESSAGES, REFERRAL_MESSAGES, CreditPackPurchased
from service.policy import load_policy
from service.settings.messaging import MessagingSettings
from tests.support.hostile import deep_json, hostile_messages

pytestmark = pytest.mark.unit
SETTINGS = MessagingSettings()
PAYMENTS, REFERRALS = SETTINGS.payments_topic, SETTINGS.referrals_topic
POLICY = load_policy()
CAMPAIGN = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MESSAGES = st.lists(st.one_of(
    hostile_messages(PAYMENT_MESSAGES.json_schema()).map(lambda body: (PAYMENTS, body)),
    hostile_messages(REFERRAL_MESSAGES.json_schema()).map(lambda body: (REFERRALS, body)),
), min_size=1, max_size=12)


class Outcomes:
    """What the consumers did with each message: applied, refused with a reason, or failed unclassified."""

    def __init__(self) -> None:
        self.applied: list[Any] = []
        self.failed: list[BaseException] = []
        self.dead: list[dict[str, str]] = []

    def recording(self, apply: Callable[..., Any]) -> Callable[..., Any]:
        """``apply`` with its outcome recorded."""
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                outcome = apply(*args, **kwargs)
            except BaseException as error:
                self.failed.append(error)
                raise
            self.applied.append(args[2])
            return outcome
        return run


async def consume(messages: list[tuple[str, Any]], ledger: Ledger, outcomes: Outcomes) -> None:
    """Publish each message to its topic through the consumers' app on a test broker."""
    app = build_inbound(ledger, POLICY, SETTINGS, retry_delays=(0,),
                        apply_referral=outcomes.recording(referrals.apply_referral),
                        apply_payment=outcomes.recording(payments.apply_payment))
    broker: Any = app.broker
    for topic in (f"{PAYMENTS}.dlq", f"{REFERRALS}.dlq"):
        @broker.subscriber(topic, decoder=raw)  # a dead letter is kept as it came: no parser of ours reads it
        async def record(message: KafkaMessage) -> None:
            outcomes.dead.append(dict(message.headers))
    async with TestKafkaBroker(broker):
        for topic, body in messages:
            try:
                await broker.publish(body, topic=topic)
            except Exception as error:  # a publish that raises is itself a finding below
                outcomes.failed.append(error)


def raw(message: Any) -> bytes:
    """A message's body as bytes (FastStream decoder)."""
    return bytes(message.body)


def users_of(messages: list[Any]) -> set[str]:
    """The user ids of messages that were applied."""
    found: set[str] = set()
    for message in messages:
        for field in ("user_id", "referrer_user_id", "referee_user_id"):
            value = getattr(message, field, None)
            if isinstance(value, str):
                found.add(value)
    return found


@CAMPAIGN
@given(messages=MESSAGES)
def test_every_inbound_message_is_applied_or_dead_lettered_with_its_reason(messages: list[tuple[str, Any]]) -> None:
    ledger, outcomes = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}), Outcomes()
    try:
        asyncio.run(consume(messages, ledger, outcomes))
        unclassified = [error for error in outcomes.failed if error_code(error) is None]
        assert not unclassified, f"retried forever instead of dead-lettered: {unclassified!r}"
        assert all(headers.get("x-error") and headers.get("x-error-message") for headers in outcomes.dead)
        assert len(outcomes.applied) + len(outcomes.dead) == len(messages)
        # Whatever time a partner wrote, every wallet still spends at the service's time.
        now = datetime.now(UTC)
        for user in sorted(users_of(outcomes.applied)):
            pack = POLICY.pack("starter")
            assert pack is not None
            payments.apply_payment(ledger, POLICY, CreditPackPurchased(
                type="CreditPackPurchased", payment_id=f"fresh-{uuid.uuid4()}", user_id=user, pack_id=pack.id,
                amount_minor=pack.price_minor, currency=pack.currency), at=now)
            try:
                ledger.place_hold(user_id=user, hold_id=str(uuid.uuid4()), amount=1, at=now)
            except LedgerError as error:
                raise AssertionError(f"{user!r} cannot spend a fresh pack at {now}: {error}") from None
    finally:
        ledger.close()


@pytest.mark.parametrize("body", [deep_json(100_000), b"\xff\xfe{", b"", b"null", b"1e999999",
                                  b'"' + b"x" * 2_000_000 + b'"'])
def test_a_body_no_parser_should_trust_is_dead_lettered(body: bytes) -> None:
    ledger, outcomes = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}), Outcomes()
    try:
        asyncio.run(consume([(PAYMENTS, body), (REFERRALS, body)], ledger, outcomes))
        assert outcomes.failed == [] and outcomes.applied == []
        assert len(outcomes.dead) == 2 and all(headers["x-error"] for headers in outcomes.dead)
    finally:
        ledger.close()
