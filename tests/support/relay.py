"""Writing events for the relay to publish, and reading back what it published."""

from __future__ import annotations

from datetime import timedelta

from ledger import Ledger, Money
from ledger.event_store.follow import Follower, Stored
from service.settings.messaging import MessagingSettings
from tests.conftest import T0
from tests.support.kafka_broker import unique_name


def relay_settings(servers: str) -> MessagingSettings:
    """Settings with topics and a relay name no other test uses, and small pages."""
    return MessagingSettings(kafka_bootstrap_servers=servers, events_topic=unique_name("ledger.events"),
                             generation_requested_topic=unique_name("generation.requested"),
                             relay_name=unique_name("relay"), relay_page_size=7)


def write_some_events(ledger: Ledger, users: int, start: int = 0) -> None:
    """Purchases, a generation request each, and one completed generation: wallet and generation events."""
    for n in range(start, start + users):
        user = f"user-{n}"
        at = T0 + timedelta(minutes=n)
        ledger.purchase(user_id=user, payment_id=f"pay-{n}", pack_id="starter", amount=100,
                        price=Money(9900, "INR"), at=at)
        outcome = ledger.request_generation(user_id=user, request_key="r1", template_id="poster", template_version=1,
                                            variables={"title": f"T{n}"}, input_image=None, cost=10, at=at)
        if n % 2 == 0:
            ledger.start_generation(generation_id=outcome.value, worker="w1", at=at)
            ledger.fail_generation(generation_id=outcome.value, reason="model timeout", retryable=True, at=at)


def stored_events(ledger: Ledger) -> list[Stored]:
    """Every event in the ledger's log, in order."""
    return Follower(ledger).read(limit=1_000_000)
