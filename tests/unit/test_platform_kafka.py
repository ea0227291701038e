"""The platform's wallet over Kafka: the relay asks for each recharge's debit on payments.requests, the
platform answers on payments.events, and the inbound consumer applies each answer to the saga once; a
hostile answer is dead-lettered with its reason (FastStream's TestKafkaBroker, memory store)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from faststream.kafka import KafkaMessage, TestKafkaBroker
from faststream.kafka.broker import KafkaBroker
from pydantic import SecretStr, ValidationError

from api.messaging.contract import WalletDebitRequested, document
from api.messaging.envelope import records
from api.messaging.inbound import build_inbound
from api.messaging.relay import NotificationFollower
from api.messaging.topics import project_topics
from ledger import Ledger
from ledger.recharge import RechargeStatus
from service.platform import KafkaPlatformWallet
from service.policy import load_policy
from service.recharges import RechargeDriver, recharge_of, request_recharge
from service.settings.api import ApiSettings
from service.settings.messaging import MessagingSettings
from service.settings.parts import PlatformSettings
from service.sweeping import build_platform
from tests.conftest import T0

pytestmark = pytest.mark.unit
SETTINGS = MessagingSettings()
PAYMENTS, REQUESTS = SETTINGS.payments_topic, SETTINGS.payments_requests_topic
POLICY = load_policy()
DEADLINE = timedelta(minutes=15)


@pytest.fixture
def memory_ledger() -> Iterator[Ledger]:
    """A ledger on the in-memory store."""
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


def ask(ledger: Ledger, key: str = "k-1", user: str = "ana", amount: int = 500) -> UUID:
    """A recharge of ``amount`` paise asked by ``user``."""
    return request_recharge(ledger, POLICY, user_id=user, key=key, amount_minor=amount, currency="INR", at=T0,
                            deadline=DEADLINE).recharge_id


def redeemed(ledger: Ledger, user: str = "ana") -> int:
    """The user's available credits."""
    wallet = ledger.wallet(user)
    return 0 if wallet is None else wallet.available(T0)


def status(ledger: Ledger, recharge: UUID, user: str = "ana") -> RechargeStatus:
    """Where the recharge stands."""
    return recharge_of(ledger, user_id=user, recharge=recharge).status


def answer(recharge: UUID, kind: str = "WalletBalanceRedeemed", **fields: Any) -> dict[str, Any]:
    """The platform's answer about ``recharge``'s debit (a confirmation unless ``kind`` says otherwise)."""
    body: dict[str, Any] = {"type": kind, "debit_id": str(recharge), "user_id": "ana", "amount_minor": 500,
                            "currency": "INR"}
    if kind == "WalletBalanceRedeemed":
        body["redemption_id"] = f"red-{recharge}"
    else:
        body["reason"] = "insufficient wallet balance"
    return {**body, **fields}


def test_the_relay_asks_for_a_recharges_debit_on_the_requests_topic_keyed_by_the_debit_id(
        memory_ledger: Ledger) -> None:
    recharge = ask(memory_ledger)
    stored = NotificationFollower(memory_ledger).read(limit=100)
    found = [r for s in stored for r in records(s.event, "e", "g", REQUESTS) if r[0] == REQUESTS]

    assert len(found) == 1
    _, key, value, headers = found[0]
    assert key == str(recharge).encode() and dict(headers)["type"] == b"WalletDebitRequested"
    assert WalletDebitRequested.model_validate_json(value).debit_id == str(recharge)
    assert json.loads(value) == {"type": "WalletDebitRequested", "version": 1, "debit_id": str(recharge),
                                 "user_id": "ana", "amount_minor": 500, "currency": "INR",
                                 "purpose": "studio credits", "occurred_at": T0.isoformat(),
                                 "deadline": (T0 + DEADLINE).isoformat()}


def test_the_relay_asks_nothing_on_kafka_when_the_platform_is_reached_over_http(memory_ledger: Ledger) -> None:
    ask(memory_ledger)
    topics = {r[0] for s in NotificationFollower(memory_ledger).read(limit=100) for r in records(s.event, "e", "g")}
    assert topics == {"e"}


def test_kafka_init_creates_the_requests_topic() -> None:
    assert REQUESTS == "payments.requests"
    assert REQUESTS in {t.name for t in project_topics(SETTINGS)}


def test_the_asyncapi_document_describes_the_requests_and_the_answers() -> None:
    text = json.dumps(document())
    assert REQUESTS in text and "WalletDebitRequested" in text and "WalletDebitDeclined" in text


def test_the_transport_setting_chooses_the_kafka_adapter_and_refuses_a_url_beside_it() -> None:
    assert isinstance(build_platform(PlatformSettings(platform_transport="kafka"), POLICY, False),
                      KafkaPlatformWallet)
    with pytest.raises(ValidationError, match="STUDIO_PLATFORM_TRANSPORT=kafka"):
        PlatformSettings(platform_transport="kafka", platform_url="https://platform.example",
                         platform_secret=SecretStr("s" * 32))
    with pytest.raises(ValidationError, match="needs STUDIO_DISPATCH=kafka"):
        ApiSettings(platform_transport="kafka")
    assert ApiSettings(platform_transport="kafka", dispatch="kafka").platform_transport == "kafka"
    with pytest.raises(ValidationError, match="platform_transport"):
        PlatformSettings.model_validate({"platform_transport": "carrier-pigeon"})


def test_the_driver_records_nothing_while_a_kafka_debit_waits_and_lapses_it_at_the_deadline(
        memory_ledger: Ledger) -> None:
    recharge = ask(memory_ledger)
    driver = RechargeDriver(memory_ledger, KafkaPlatformWallet(), attempts=3, retry=timedelta(0), clock=lambda: T0)
    for minute in range(0, 15, 5):
        assert driver.drive(T0 + timedelta(minutes=minute)) == 0
    found = memory_ledger.recharge(recharge)
    assert found is not None and found.version == 1 and found.status == RechargeStatus.REQUESTED

    driver.drive(T0 + DEADLINE)
    assert status(memory_ledger, recharge) == RechargeStatus.LAPSED


class Consumers:
    """The inbound consumers under test, and what reached the payments' dead-letter topic."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        app = build_inbound(ledger, POLICY, SETTINGS, retry_delays=(0,))
        self.broker: KafkaBroker = app.broker  # type: ignore[assignment]
        self.dead: list[tuple[bytes, dict[str, str]]] = []

        async def record(message: KafkaMessage) -> None:
            self.dead.append((message.body, dict(message.headers)))

        self.broker.subscriber(f"{PAYMENTS}.dlq")(record)

    def errors(self) -> list[str]:
        """The x-error of each dead letter, in order."""
        return [headers["x-error"] for _, headers in self.dead]


@pytest.fixture
async def consumers(memory_ledger: Ledger) -> AsyncIterator[Consumers]:
    """The consumers on a test broker, applying to a memory ledger."""
    under_test = Consumers(memory_ledger)
    async with TestKafkaBroker(under_test.broker):
        yield under_test


async def test_a_confirmation_under_the_debit_id_grants_the_recharge_once(consumers: Consumers) -> None:
    recharge = ask(consumers.ledger)
    for _ in range(3):
        await consumers.broker.publish(answer(recharge), topic=PAYMENTS)
    assert status(consumers.ledger, recharge) == RechargeStatus.CONFIRMED
    assert redeemed(consumers.ledger) == 50 and consumers.dead == []


async def test_a_confirmation_whose_redemption_id_is_the_debit_id_confirms_the_saga(consumers: Consumers) -> None:
    recharge = ask(consumers.ledger)
    body = answer(recharge, redemption_id=str(recharge))
    del body["debit_id"]
    await consumers.broker.publish(body, topic=PAYMENTS)
    assert status(consumers.ledger, recharge) == RechargeStatus.CONFIRMED and redeemed(consumers.ledger) == 50


async def test_a_decline_ends_the_recharge_with_its_reason_and_grants_nothing(consumers: Consumers) -> None:
    recharge = ask(consumers.ledger)
    await consumers.broker.publish(answer(recharge, "WalletDebitDeclined"), topic=PAYMENTS)
    view = recharge_of(consumers.ledger, user_id="ana", recharge=recharge)
    assert (view.status, view.detail) == (RechargeStatus.DECLINED, "insufficient wallet balance")
    assert redeemed(consumers.ledger) == 0 and consumers.dead == []


async def test_an_answer_about_a_debit_never_asked_for_is_dead_lettered(consumers: Consumers) -> None:
    stranger = UUID(int=7)
    await consumers.broker.publish(answer(stranger), topic=PAYMENTS)
    await consumers.broker.publish(answer(stranger, "WalletDebitDeclined"), topic=PAYMENTS)
    await consumers.broker.publish(answer(stranger, debit_id="not-a-debit"), topic=PAYMENTS)
    assert consumers.errors() == ["unknown-debit"] * 3
    assert "no recharge asked for this debit" in consumers.dead[0][1]["x-error-message"]
    assert redeemed(consumers.ledger) == 0


async def test_a_decline_of_a_confirmed_debit_is_dead_lettered_and_the_credits_stay(consumers: Consumers) -> None:
    recharge = ask(consumers.ledger)
    await consumers.broker.publish(answer(recharge), topic=PAYMENTS)
    await consumers.broker.publish(answer(recharge, "WalletDebitDeclined"), topic=PAYMENTS)
    assert consumers.errors() == ["conflicting-command"]
    assert status(consumers.ledger, recharge) == RechargeStatus.CONFIRMED and redeemed(consumers.ledger) == 50


async def test_a_reason_with_control_characters_is_dead_lettered_and_the_recharge_stays_open(
        consumers: Consumers) -> None:
    recharge = ask(consumers.ledger)
    for reason in ("declined\nINFO granted 1000 credits", "bidi \u202e trick", ""):
        await consumers.broker.publish(answer(recharge, "WalletDebitDeclined", reason=reason), topic=PAYMENTS)
    assert consumers.errors() == ["schema-violation"] * 3
    assert "control character" in consumers.dead[0][1]["x-error-message"]
    assert status(consumers.ledger, recharge) == RechargeStatus.REQUESTED


@pytest.mark.parametrize("changed", [{"amount_minor": 1000}, {"currency": "USD"}, {"user_id": "bo"}],
                         ids=["amount", "currency", "learner"])
async def test_an_answer_that_differs_from_the_debit_asked_is_dead_lettered(
        consumers: Consumers, changed: dict[str, Any]) -> None:
    recharge = ask(consumers.ledger)
    await consumers.broker.publish(answer(recharge, **changed), topic=PAYMENTS)
    await consumers.broker.publish(answer(recharge, "WalletDebitDeclined", **changed), topic=PAYMENTS)
    assert consumers.errors() == ["debit-mismatch"] * 2
    assert status(consumers.ledger, recharge) == RechargeStatus.REQUESTED
    assert redeemed(consumers.ledger) == 0 and redeemed(consumers.ledger, "bo") == 0
