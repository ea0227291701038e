"""The relay's position table on every store: starts at 0, never moves back, survives a restart."""

from __future__ import annotations

import pytest

from api.messaging.relay import Relay
from ledger import Ledger
from ledger.event_store.tracking import MemoryPositions, positions_for
from service.settings.messaging import MessagingSettings

pytestmark = pytest.mark.integration


def test_a_position_starts_at_zero_and_never_moves_back(store_env: dict[str, str]) -> None:
    ledger = Ledger(store_env)
    try:
        positions = positions_for(ledger.recorder)
        assert positions.get("relay-a") == 0
        positions.put("relay-a", 7)
        positions.put("relay-a", 3)
        positions.put("relay-b", 2)
        assert (positions.get("relay-a"), positions.get("relay-b")) == (7, 2)
    finally:
        ledger.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_position_survives_a_restart_of_the_process(store: str, request: pytest.FixtureRequest) -> None:
    env = request.getfixturevalue({"sqlite": "sqlite_env", "postgres": "pg_env"}[store])
    first = Ledger(env)
    positions_for(first.recorder).put("relay", 42)
    first.close()
    again = Ledger(env)
    try:
        assert positions_for(again.recorder).get("relay") == 42
    finally:
        again.close()


def test_the_memory_store_keeps_positions_in_the_process() -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        assert isinstance(positions_for(ledger.recorder), MemoryPositions)
    finally:
        ledger.close()


def test_the_relay_refuses_a_store_it_cannot_read_as_plain_json(sqlite_env: dict[str, str]) -> None:
    ledger = Ledger({**sqlite_env, "COMPRESSOR_TOPIC": "zlib"})
    try:
        with pytest.raises(ValueError, match="encrypted or compressed"):
            Relay(ledger, MessagingSettings())
    finally:
        ledger.close()
