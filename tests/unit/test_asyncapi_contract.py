"""The committed AsyncAPI document is the one the code generates, and it describes every topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.messaging.contract import document

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).parents[2] / "docs" / "asyncapi.json"


def test_the_committed_asyncapi_document_is_current() -> None:
    assert json.loads(COMMITTED.read_text()) == document(), (
        "docs/asyncapi.json is stale: run `python -m api.messaging.contract > docs/asyncapi.json`")


def test_the_document_names_every_topic_and_inbound_message() -> None:
    spec = document()
    assert set(spec["channels"]) == {"affiliate.referrals", "affiliate.referrals.dlq", "payments.events",
                                     "payments.events.dlq", "ledger.events", "generation.requested",
                                     "payments.requests", "wallet.alerts"}
    assert {"ReferralConverted", "ReferralReversed", "CreditPackPurchased", "WalletBalanceRedeemed",
            "WalletDebitDeclined", "PaymentRefunded", "EventEnvelope", "WalletDebitRequested", "WalletAlert"} <= set(
        spec["components"]["schemas"])


def test_inbound_schemas_are_versioned() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["CreditPackPurchased"]["properties"]["version"]["const"] == 1
    assert set(schemas["CreditPackPurchased"]["required"]) >= {"type", "payment_id", "user_id", "pack_id",
                                                               "amount_minor", "currency"}
