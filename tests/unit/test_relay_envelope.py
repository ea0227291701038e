"""The relay's envelopes: built from the stored JSON, equal to the decoded event's envelope."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from api.messaging.envelope import encode, envelope, is_published, records
from api.messaging.relay import NotificationFollower
from ledger import Ledger, Money
from ledger.event_ids import event_id
from ledger.event_store.follow import Follower
from media.messages import GenerationRequestedMessage
from service.inprocess import request_message
from tests.conftest import T0

pytestmark = pytest.mark.unit


@pytest.fixture
def busy_ledger(sqlite_env: dict[str, str]) -> Iterator[Ledger]:
    """A SQLite ledger with events of every kind the commands here produce."""
    ledger = Ledger(sqlite_env)
    ledger.purchase(user_id="ana", payment_id="p-1", pack_id="starter", amount=100, price=Money(9900, "INR"), at=T0)
    ledger.grant_referral_bonus(referral_id="r-1", awards=[{"user_id": "ana", "credits": 50, "role": "referrer"}],
                                at=T0, expires_at=T0 + timedelta(days=90))
    gen = ledger.request_generation(user_id="ana", request_key="k", template_id="poster", template_version=2,
                                    variables={"title": "Hi", "n": [1, 2]}, input_image=None, cost=10, at=T0).value
    ledger.start_generation(generation_id=gen, worker="w", at=T0)
    ledger.complete_generation(generation_id=gen, at=T0, image_url="file:///x.png", storage_id="x", provider="local",
                               model="m", seed=7, timings={"render": 0.5})
    ledger.share_generation(generation_id=gen, user_id="ana", token="tok", at=T0)
    ledger.refund_purchase(payment_id="p-1", at=T0 + timedelta(minutes=1))
    ledger.reverse_referral(referral_id="r-1", at=T0 + timedelta(minutes=2))
    yield ledger
    ledger.close()


def test_records_from_stored_json_equal_the_decoded_events_envelopes(busy_ledger: Ledger) -> None:
    decoded = [s for s in Follower(busy_ledger).read(limit=1000) if is_published(s)]
    raw = [r for n in NotificationFollower(busy_ledger).read(limit=1000) for r in records(n.event)]
    events = [value for topic, _, value, _ in raw if topic == "ledger.events"]
    assert [json.loads(v) for v in events] == [json.loads(encode(envelope(s))) for s in decoded]
    assert {s.type for s in decoded} >= {"CreditsPurchased", "ReferralBonusGranted", "HoldPlaced", "HoldCaptured",
                                         "GenerationRequested", "GenerationCompleted", "GenerationShared",
                                         "PurchaseRefunded", "ReferralReversed"}


def test_internal_reference_events_have_no_records(busy_ledger: Ledger) -> None:
    stored = NotificationFollower(busy_ledger).read(limit=1000)
    internal = [s for s in stored if ":Reference." in s.event.topic]
    assert internal
    assert all(records(s.event) == [] for s in internal)


def test_a_generation_request_goes_to_both_topics_keyed_by_the_generation(busy_ledger: Ledger) -> None:
    stored = NotificationFollower(busy_ledger).read(limit=1000)
    [request] = [s.event for s in stored if s.event.topic.endswith("GenerationRequested")]
    found = records(request, "events", "requested")
    assert [topic for topic, *_ in found] == ["events", "requested"]
    assert {key for _, key, _, _ in found} == {str(request.originator_id).encode()}


def test_event_ids_are_uuid5_of_aggregate_and_version_in_value_and_header(busy_ledger: Ledger) -> None:
    for stored in NotificationFollower(busy_ledger).read(limit=1000):
        for _, _, value, headers in records(stored.event):
            data = json.loads(value)
            expected = str(event_id(UUID(data["aggregate_id"]), data["aggregate_version"]))
            assert data["event_id"] == expected
            assert dict(headers) == {"event_id": expected.encode(), "type": data["type"].encode()}


def test_the_in_process_request_is_the_message_the_relay_publishes(busy_ledger: Ledger) -> None:
    [stored] = [s for s in Follower(busy_ledger).read(limit=1000) if type(s.event).__name__ == "GenerationRequested"]
    [published] = [v for n in NotificationFollower(busy_ledger).read(limit=1000) for t, _, v, _ in records(n.event)
                   if t == "generation.requested"]
    assert request_message(stored) == GenerationRequestedMessage.model_validate_json(published)


def builds_an_envelope(node: ast.AST) -> bool:
    """Whether a node assembles an event message itself: the envelope's keys or its message classes."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and '"aggregate_version"' in str(v.value) for v in node.values)
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "aggregate_version" for k in node.keys)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in {"GenerationRequestedMessage", "RequestedPayload"})


def test_one_builder_makes_every_event_message() -> None:
    root = Path(__file__).resolve().parents[2]
    builder = root / "media" / "messages.py"
    found = [
        f"{path.relative_to(root)}:{node.lineno}"
        for package in ("api", "service", "media", "projections", "ledger")
        for path in sorted((root / package).rglob("*.py"))
        if path != builder
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if builds_an_envelope(node)
    ]
    assert found == []
