"""The fixtures unit modules share: a ledger in memory, and the inbound consumers on a test broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from faststream.kafka import TestKafkaBroker

from api.messaging.inbound import build_inbound
from ledger import Ledger
from service.policy import load_policy
from tests.support.inbound import SETTINGS, Consumers


@pytest.fixture
def memory_ledger() -> Iterator[Ledger]:
    """A ledger on the in-memory store."""
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


@pytest.fixture
async def consumers(memory_ledger: Ledger) -> AsyncIterator[Consumers]:
    """The consumers on a test broker, applying to a memory ledger."""
    under_test = Consumers(memory_ledger, build_inbound(memory_ledger, load_policy(), SETTINGS, retry_delays=(0,)))
    async with TestKafkaBroker(under_test.broker):
        yield under_test
