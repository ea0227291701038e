"""The learners' key table: a key made once (another process making it at the same time gets the same one),
destroyed for good, and read from a short cache that another process's destruction ends within CACHE_S."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from service.keys import CACHE_S, SqlKeys

pytestmark = pytest.mark.unit


def test_a_key_is_made_once_shared_by_every_process_and_destroyed_for_good() -> None:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    now = [0.0]
    one, other = SqlKeys(engine, clock=lambda: now[0]), SqlKeys(engine, clock=lambda: now[0])
    assert one.key("ana", create=False) is None
    made = one.key("ana", create=True)
    assert made is not None and len(made) == 32
    assert other.key("ana", create=True) == made  # the same key, not a second one
    assert one.destroy("ana") and not one.destroy("ana")
    assert one.key("ana", create=False) is None  # this process forgets at once
    assert other.key("ana", create=False) == made  # another reads its cache a moment longer
    now[0] += CACHE_S
    assert other.key("ana", create=False) is None
    fresh = other.key("ana", create=True)
    assert fresh is not None and fresh != made  # a later request seals under a new key; the old words stay erased
