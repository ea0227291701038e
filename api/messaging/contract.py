"""The Kafka contract as an AsyncAPI document: inbound messages, dead letters and published events.

Regenerate the committed copy with ``python -m api.messaging.contract > docs/asyncapi.json``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from faststream.kafka import KafkaBroker
from pydantic import UUID5 as EventId
from pydantic import AwareDatetime, BaseModel, Field

from api.messaging.inbound import build_inbound
from projections.alerts import AlertKind
from service.bootstrap import build_ledger, build_policy
from service.settings import ApiSettings, MessagingSettings, Settings, StoreSettings


class EventEnvelope(BaseModel):
    """A ledger event as the relay publishes it (key: the wallet or generation id)."""

    event_id: EventId = Field(description="uuid5 of aggregate id and version: the same on every republication")
    type: str = Field(description="The event's name, e.g. CreditsPurchased, HoldPlaced, GenerationRequested, "
                      "GenerationShared (payload: token), GenerationUnshared (payload: token, the link that stops "
                      "working), GenerationImageDeleted (payload: reason, owner or retention; token, the link that "
                      "stops working, empty when it was not shared), GenerationTakenDown (as GenerationImageDeleted "
                      "with reason takedown; category, note, by: the operator), GenerationReported (payload: "
                      "category, text, reporter: a keyed digest of the address, never the address; token), "
                      "GenerationReportsDismissed (reports, note, by); a learner's standing (takedowns, sharing "
                      "suspended and restored) is kept in the ledger and not published")
    version: int = Field(ge=1, description="The event class version")
    occurred_at: AwareDatetime
    position: int = Field(ge=1, description="The event's position in the ledger's log")
    aggregate_id: str = Field(description="The wallet or generation id; also the record key")
    aggregate_version: int = Field(ge=1)
    payload: dict[str, Any] = Field(description="The event's fields; each wallet event carries prev_hash")


class WalletDebitRequested(BaseModel):
    """A debit of the learner's platform wallet we ask for (``STUDIO_PLATFORM_TRANSPORT=kafka``; key: the debit id).

    Published again, unchanged, after a crash of the relay: the platform takes the money once per ``debit_id``
    and answers on the payments topic with ``WalletBalanceRedeemed`` (``debit_id`` set) or ``WalletDebitDeclined``.
    """

    type: Literal["WalletDebitRequested"]
    version: Literal[1]
    debit_id: str = Field(description="The recharge's id: the same on every delivery; answers name it")
    user_id: str
    amount_minor: int = Field(gt=0, description="What to debit, in minor units of currency")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    purpose: str = Field(description="What the learner sees on their statement")
    occurred_at: AwareDatetime
    deadline: AwareDatetime = Field(description="Unanswered by then, the recharge is an operator's finding")


class WalletAlert(BaseModel):
    """An alert about a learner's wallet (key: the user id; header ``alert_id``): published once per alert id."""

    type: Literal["WalletAlert"]
    version: Literal[1]
    alert_id: str = Field(description="Unique per alert: the same id the webhook's Idempotency-Key carries")
    kind: AlertKind
    user_id: str
    occurred_at: AwareDatetime
    position: int = Field(ge=0, description="The ledger position the alert was derived at")
    details: dict[str, Any] = Field(description="What the alert is about: credits, threshold, reason, expires_at")


def document(settings: MessagingSettings | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the ledger's Kafka topics, as JSON-ready data."""
    settings = settings or MessagingSettings.model_construct()
    # The document needs no events, and depends on no environment: the memory store, the shipped policy.
    tree = Settings(store=StoreSettings.model_construct(backend="memory", group_commit=False),
                    api=ApiSettings.model_construct())
    ledger = build_ledger(tree)
    try:
        app = build_inbound(ledger, build_policy(tree), settings)
        broker = app.broker
        assert isinstance(broker, KafkaBroker)
        headers = "Headers: event_id, type (as in the body)."
        broker.publisher(settings.events_topic, title=settings.events_topic, schema=EventEnvelope,
                         description=f"Every committed wallet and generation event, in log order per key. {headers}")
        broker.publisher(settings.generation_requested_topic, title=settings.generation_requested_topic,
                         schema=EventEnvelope, description=f"GenerationRequested events only. {headers}")
        broker.publisher(settings.payments_requests_topic, title=settings.payments_requests_topic,
                         schema=WalletDebitRequested, description="Debits of the platform wallet asked for, when "
                         f"STUDIO_PLATFORM_TRANSPORT=kafka; answered on {settings.payments_topic}. "
                         "Headers: event_id, type.")
        broker.publisher(settings.alerts_topic, title=settings.alerts_topic, schema=WalletAlert,
                         description="Wallet alerts (low balance and its recovery, expiring credits, a declined "
                         "recharge, a failed auto top-up), each once. Headers: alert_id, type.")
        spec = app.schema.to_specification()
        data: dict[str, Any] = json.loads(spec.to_json())
        return data
    finally:
        ledger.close()


def main() -> None:
    """Print the document (stable key order, two-space indent)."""
    print(json.dumps(document(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
