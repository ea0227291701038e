"""How the consumers classify failures: what is dead-lettered with which reason, what is retried and when."""

from __future__ import annotations

import sqlite3

import eventsourcing.persistence as store_errors
import pytest
import sqlalchemy.exc
from pydantic import ValidationError

from api.messaging.dead_letters import DeadLetters, InvalidJson, error_code, strict_json
from api.messaging.results import unprocessable as results_unprocessable
from api.messaging.topics import dead_letter_topic
from ledger import ConflictingCommand, LedgerUnavailable, UnknownReference
from service.messages import PAYMENT_MESSAGES
from service.payments import PriceMismatch, UnknownPack

pytestmark = pytest.mark.unit


async def nowhere(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
    """A dead-letter sink for tests that never dead-letter."""


def schema_error() -> ValidationError:
    """The error a payment message without fields raises."""
    try:
        PAYMENT_MESSAGES.validate_python({"type": "PaymentRefunded"})
    except ValidationError as error:
        return error
    raise AssertionError("the message validated")


@pytest.mark.parametrize(("error", "code"), [
    (InvalidJson("x"), "invalid-json"),
    (schema_error(), "schema-violation"),
    (UnknownPack("x"), "unknown-pack"),
    (PriceMismatch("x"), "price-mismatch"),
    (UnknownReference("x"), "unknown-reference"),
    (ConflictingCommand("x"), "conflicting-command"),
])
def test_errors_no_retry_can_cure_are_dead_lettered_with_their_reason(error: Exception, code: str) -> None:
    assert error_code(error) == code


@pytest.mark.parametrize("error", [
    ConnectionError("refused"), TimeoutError(), OSError("network down"),
    store_errors.OperationalError("server closed the connection"), sqlite3.OperationalError("database is locked"),
    sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")), LedgerUnavailable("closing"),
])
def test_failures_of_the_database_or_the_network_are_transient(error: Exception) -> None:
    assert error_code(error) is None


@pytest.mark.parametrize("error", [
    OverflowError("date value out of range"), KeyError("grant"), TypeError("unexpected"),
    store_errors.DataError("integer out of range"), ValueError("bad"),
])
def test_an_error_nobody_foresaw_is_dead_lettered_not_retried_for_ever(error: Exception) -> None:
    assert error_code(error) == "unprocessable"
    assert results_unprocessable(error) == type(error).__name__


def test_the_pause_before_a_redelivery_grows_per_message_and_is_capped() -> None:
    policy = DeadLetters(nowhere, delays=(0.1, 0.5, 2.0))
    first, other = ("payments.events", 0, 7), ("payments.events", 0, 8)
    assert [policy.backoff(first) for _ in range(5)] == [0.1, 0.5, 2.0, 2.0, 2.0]
    assert policy.backoff(other) == 0.1


def test_a_body_that_is_not_json_is_named_so() -> None:
    with pytest.raises(InvalidJson, match="not JSON"):
        strict_json(b"\xff{")
    assert strict_json(b'{"a": 1}') == {"a": 1}


def test_each_topic_has_its_own_dead_letter_topic() -> None:
    assert dead_letter_topic("payments.events") == "payments.events.dlq"


async def test_a_message_whose_dead_letter_the_broker_refused_is_delivered_again() -> None:
    from types import SimpleNamespace

    from faststream.exceptions import NackMessage

    async def refused(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        raise ConnectionError("broker unreachable")

    policy = DeadLetters(refused, delays=(0,))
    record = SimpleNamespace(topic="payments.events", partition=0, offset=7, key=None, value=b"{not json")
    with pytest.raises(NackMessage):
        await policy(record, context=None).after_processed(InvalidJson, InvalidJson("x"), None)


async def test_a_dead_letter_is_counted_by_topic_and_error_where_the_consumer_serves_its_metrics() -> None:
    from types import SimpleNamespace

    from prometheus_client import generate_latest

    from api.processes import consumer_metrics

    registry, _ = consumer_metrics("127.0.0.1:9")
    topic = f"payments.events.{id(registry)}"  # the counter is the process's: a topic of this test's own
    record = SimpleNamespace(topic=topic, partition=0, offset=7, key=None, value=b"{not json")
    handled = await DeadLetters(nowhere, delays=(0,))(record, context=None).after_processed(
        InvalidJson, InvalidJson("x"), None)
    assert handled is True
    served = generate_latest(registry).decode()
    assert f'studio_kafka_dead_letters_total{{error="invalid-json",topic="{topic}"}} 1.0' in served
