"""The idempotency store reads and writes the same rows on SQLite (through SQLAlchemy's statements) and on
PostgreSQL (its own SQL, sent to the driver as written): what one path keeps, the other finds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.values import digest
from projections.db import make_engine
from service.commands import PAYMENT_WEBHOOK, caller
from service.errors import IdempotencyKeyReused
from service.idempotency import RECORD, IdempotencyStore, idempotency_answers, idempotency_keys
from tests.support.databases import schema_url

BODY = {"generation_id": "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d", "position": 2**40, "note": "नमस्ते \u200d 🎨",
        "nested": {"list": [1, None, True, 1.5]}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[IdempotencyStore]:
    """A store in memory, or in a schema of its own on PostgreSQL."""
    url = "sqlite://"
    if request.param == "postgres":
        url = schema_url(request.getfixturevalue("pg_env"))
    engine = make_engine(url, pool_size=1)
    store = IdempotencyStore(engine)
    store.setup()
    assert store.plain == (request.param == "postgres")
    yield store
    engine.dispose()


def test_a_kept_answer_is_the_row_sqlalchemy_reads_back(store: IdempotencyStore) -> None:
    before = datetime.now(UTC)
    assert store.keep(caller("alice"), "k-1", {"body": 1}, 202, BODY) == (202, BODY, False)
    with store.engine.connect() as conn:
        row = conn.execute(select(idempotency_answers)).mappings().one()
    assert (row["kind"], row["principal"], row["key"], row["status"]) == ("user", "alice", "k-1", 202)
    assert row["fingerprint"] == digest({"body": 1}) and row["body"] == BODY
    assert row["created_at"].tzinfo is UTC and before - timedelta(seconds=1) <= row["created_at"] <= datetime.now(UTC)


def test_an_answer_sqlalchemy_kept_is_recalled(store: IdempotencyStore) -> None:
    with store.engine.connect() as conn:
        conn.execute(RECORD, {"kind": "webhook", "principal": "payments", "key": "pay-1",
                              "fingerprint": digest({"paid": 1}), "status": 200, "body": BODY,
                              "created_at": datetime.now(UTC)})
    assert store.recall(PAYMENT_WEBHOOK, "pay-1", {"paid": 1}) == (200, BODY)
    assert store.recall(caller("payments"), "pay-1", {"paid": 1}) is None  # a user's keys are apart
    with pytest.raises(IdempotencyKeyReused):
        store.recall(PAYMENT_WEBHOOK, "pay-1", {"paid": 2})


def test_a_second_first_attempt_gets_the_answer_kept_first(store: IdempotencyStore) -> None:
    assert store.keep(caller("alice"), "k", {"body": 1}, 202, {"n": 1}) == (202, {"n": 1}, False)
    assert store.keep(caller("alice"), "k", {"body": 1}, 202, {"n": 2}) == (202, {"n": 1}, True)
    with pytest.raises(IdempotencyKeyReused):
        store.keep(caller("alice"), "k", {"body": 2}, 202, {"n": 3})


def test_keys_that_look_like_sql_or_formats_are_only_keys(store: IdempotencyStore) -> None:
    for n, key in enumerate(["%(key)s", "%s", "'; DROP TABLE idempotency_answers; --", "k" * 200, "a:b:c"]):
        assert store.keep(caller("o'brien %s"), key, {"n": n}, 200, {"n": n}) == (200, {"n": n}, False)
        assert store.recall(caller("o'brien %s"), key, {"n": n}) == (200, {"n": n})
    with store.engine.connect() as conn:
        assert len(conn.execute(select(idempotency_answers)).all()) == 5


def test_an_answer_kept_before_answers_had_a_kind_is_found_for_the_same_request(store: IdempotencyStore) -> None:
    with store.engine.connect() as conn:
        conn.execute(idempotency_keys.insert(), {"scope": "alice", "key": "old", "fingerprint": digest({"b": 1}),
                                                 "status": 200, "body": BODY, "created_at": datetime.now(UTC)})
    assert store.recall(caller("alice"), "old", {"b": 1}) == (200, BODY)
    assert store.recall(caller("alice"), "old", {"b": 2}) is None  # another request under a former key runs
