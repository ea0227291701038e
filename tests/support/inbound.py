"""The inbound consumers under test: the topics, a purchase message, and the app with its dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaMessage
from faststream.kafka.broker import KafkaBroker

from ledger import Ledger
from service.settings.messaging import MessagingSettings

SETTINGS = MessagingSettings()
PAYMENTS, REFERRALS = SETTINGS.payments_topic, SETTINGS.referrals_topic
PURCHASE = {"type": "CreditPackPurchased", "payment_id": "pay-1", "user_id": "ana", "pack_id": "starter",
            "amount_minor": 900, "currency": "INR"}


class Consumers:
    """The consumers' app under test, and what reached each dead-letter topic."""

    def __init__(self, ledger: Ledger, app: FastStream) -> None:
        self.ledger = ledger
        self.broker: KafkaBroker = app.broker  # type: ignore[assignment]
        self.dead: dict[str, list[tuple[bytes, dict[str, str]]]] = {f"{PAYMENTS}.dlq": [], f"{REFERRALS}.dlq": []}
        for topic, found in self.dead.items():
            self.broker.subscriber(topic)(self._recorder(found))

    @staticmethod
    def _recorder(found: list[tuple[bytes, dict[str, str]]]) -> Any:
        async def record(message: KafkaMessage) -> None:
            found.append((message.body, dict(message.headers)))
        return record

    def available(self, user: str) -> int:
        """The user's available credits now."""
        wallet = self.ledger.wallet(user)
        return 0 if wallet is None else wallet.available(datetime.now(UTC))
