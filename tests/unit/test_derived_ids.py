"""Ids and scopes derived from several names are unambiguous: no two splits of the same text and no two
kinds meet. Ids stored before keep working: a request first made before still repeats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import combinations
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest

from ledger import Ledger, Money
from ledger import steps as ledger_steps
from ledger.errors import ConflictingCommand
from ledger.names import IdKind, derived_id, encode
from ledger.reference import REFERENCE_KINDS, Reference
from ledger.values import NAMESPACE, digest, generation_id, stable_id, wallet_id
from projections.db import make_engine
from service import admin
from service.commands import PAYMENT_WEBHOOK, Answer, Commands, caller
from service.errors import IdempotencyKeyReused
from service.idempotency import IdempotencyStore, idempotency_keys
from service.metrics import Metrics
from tests.support.databases import schema_url

pytestmark = pytest.mark.unit
AT = datetime(2026, 3, 1, tzinfo=UTC)
SPLITS = [("a", "b:c"), ("a:b", "c"), ("a:", "bc"), ("a", ":bc"), ("", "a:b:c"), ("a:b:c", "")]


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger.purchase(user_id="a", payment_id="pay-a", pack_id="starter", amount=100, price=Money(900, "INR"), at=AT)
    ledger.purchase(user_id="a:b", payment_id="pay-ab", pack_id="starter", amount=100, price=Money(900, "INR"),
                    at=AT)
    yield ledger
    ledger.close()


def request(ledger: Ledger, user_id: str, key: str, *, cost: int = 5) -> UUID:
    outcome = ledger.request_generation(user_id=user_id, request_key=key, template_id="poster", template_version=1,
                                        variables={"course": "SQL"}, input_image=None, cost=cost, at=AT)
    assert isinstance(outcome.value, UUID)
    return outcome.value


def test_the_encoding_gives_every_split_of_the_same_text_its_own_value() -> None:
    assert len({encode(*split) for split in SPLITS}) == len(SPLITS)
    assert encode("a", "b:c") == "1:a3:b:c" and encode("a:b", "c") == "3:a:b1:c"


def test_derived_ids_differ_between_splits_and_between_kinds() -> None:
    ids = [derived_id(kind, *split) for kind in IdKind for split in SPLITS]
    assert len(set(ids)) == len(ids)


def test_user_a_with_key_b_c_and_user_a_b_with_key_c_are_two_generations(ledger: Ledger) -> None:
    first = request(ledger, "a", "b:c")
    second = request(ledger, "a:b", "c")
    assert first != second
    assert ledger.generation(first).user_id == "a" and ledger.generation(second).user_id == "a:b"  # type: ignore[union-attr]
    assert ledger.wallet("a").held == ledger.wallet("a:b").held == 5  # type: ignore[union-attr]


def test_generation_ids_of_user_ids_without_a_colon_are_the_ones_already_stored() -> None:
    # Every generation stored so far has this id: a repeat of its request must find it.
    stored_namespace = uuid5(NAMESPACE_URL, "https://studio-ledger/ids")
    assert generation_id("alice", "k:1") == uuid5(stored_namespace, "generation:alice:k:1")


def test_a_request_made_before_the_upgrade_by_a_user_id_with_a_colon_still_repeats(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as before:  # the derivation before: "<user>:<key>" for every user id
        before.setattr(ledger_steps, "generation_id", lambda u, k: stable_id("generation", f"{u}:{k}"))
        before.setattr(ledger_steps, "former_generation_id", lambda u, k: None)
        old = request(ledger, "a:b", "c")
    again = ledger.request_generation(user_id="a:b", request_key="c", template_id="poster", template_version=1,
                                      variables={"course": "SQL"}, input_image=None, cost=5, at=AT)
    assert again.value == old and again.repeated
    assert ledger.wallet("a:b").held == 5  # type: ignore[union-attr]
    with pytest.raises(ConflictingCommand):
        request(ledger, "a:b", "c", cost=6)
    # User "a" with key "b:c" made the same old text: theirs is a generation of their own, not a:b's.
    theirs = request(ledger, "a", "b:c")
    assert theirs != old and ledger.generation(theirs).user_id == "a"  # type: ignore[union-attr]
    assert request(ledger, "a", "b:c") == theirs and ledger.wallet("a").held == 5  # type: ignore[union-attr]


def test_grant_ids_differ_between_splits_of_reference_and_user() -> None:
    ids = {ledger_steps.derived_grant_id("promo", reference, user_id=user) for reference, user in SPLITS}
    assert len(ids) == len(SPLITS)


def test_reference_kinds_are_a_closed_list_of_names_without_a_colon() -> None:
    assert all(":" not in kind for kind in REFERENCE_KINDS)
    with pytest.raises(ValueError, match="no reference kind 'promo:x'"):
        Reference.id_for("promo:x", "y")  # type: ignore[arg-type]


def test_the_old_one_name_derivations_cannot_meet() -> None:
    # wallet, generation and reference ids keep "<kind>:<name>" (stored ids): no kind followed by a colon
    # begins another, so each text has one reading.
    kinds = ["wallet", "generation", *(f"reference:{k}" for k in REFERENCE_KINDS)]
    for one, other in combinations(kinds, 2):
        assert not (one + ":").startswith(other + ":") and not (other + ":").startswith(one + ":")
    assert wallet_id("x") == uuid5(NAMESPACE, "wallet:x")


def test_admin_grants_to_a_with_key_b_c_and_to_a_b_with_key_c_are_two_grants(ledger: Ledger) -> None:
    admin.grant_promo(ledger, user_id="a", key="b:c", amount=7, reason="welcome", at=AT, expires_at=None)
    second = admin.grant_promo(ledger, user_id="a:b", key="c", amount=7, reason="welcome", at=AT, expires_at=None)
    assert not second.repeated
    assert ledger.wallet("a").available(AT) == ledger.wallet("a:b").available(AT) == 107  # type: ignore[union-attr]
    assert admin.reference("a", "b:c") != admin.reference("a:b", "c")


def test_an_admin_grant_made_before_the_upgrade_for_a_user_id_with_a_colon_still_repeats(ledger: Ledger) -> None:
    ledger.grant_promo(user_id="a:b", reference="admin:a:b:c", amount=7, reason="welcome", at=AT, expires_at=None)
    again = admin.grant_promo(ledger, user_id="a:b", key="c", amount=7, reason="welcome", at=AT, expires_at=None)
    assert again.repeated and ledger.wallet("a:b").available(AT) == 107  # type: ignore[union-attr]
    ledger.adjust(user_id="a:b", reference="admin:a:b:d", delta=-3, reason="fix", at=AT)
    assert admin.adjust(ledger, user_id="a:b", key="d", delta=-3, reason="fix", at=AT).repeated
    assert ledger.wallet("a:b").available(AT) == 104  # type: ignore[union-attr]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[IdempotencyStore]:
    """An idempotency store in memory, or in a schema of its own on PostgreSQL (one round trip reads both tables)."""
    url = "sqlite://"
    if request.param == "postgres":
        url = schema_url(request.getfixturevalue("pg_env"))
    engine = make_engine(url, pool_size=1)
    store = IdempotencyStore(engine)
    store.setup()
    yield store
    engine.dispose()


def answer(n: int) -> Answer:
    return 200, {"n": n}


def test_a_user_whose_id_is_webhook_payments_cannot_block_a_payment_with_their_key(store: IdempotencyStore) -> None:
    commands = Commands(Metrics(), lambda _: None, store)
    commands.once(caller("webhook:payments"), "pay-1", {"route": "POST /v1/generations"}, lambda: answer(1))
    paid = commands.once(PAYMENT_WEBHOOK, "pay-1", {"route": "POST /v1/webhooks/payments"}, lambda: answer(2))
    assert paid == (200, {"n": 2})


def keep_formerly(store: IdempotencyStore, scope: str, key: str, request: object, n: int) -> None:
    """An answer kept before answers had a kind of caller."""
    with store.engine.connect() as conn:
        conn.execute(idempotency_keys.insert(), {"scope": scope, "key": key, "fingerprint": digest(request),
                                                 "status": 200, "body": {"n": n}, "created_at": AT})


def test_a_request_answered_before_the_upgrade_gets_its_first_answer(store: IdempotencyStore) -> None:
    commands = Commands(Metrics(), lambda _: None, store)
    keep_formerly(store, "alice", "k", {"body": 1}, 1)
    keep_formerly(store, "webhook:payments", "pay-1", {"body": "paid"}, 3)
    assert commands.once(caller("alice"), "k", {"body": 1}, lambda: answer(2)) == (200, {"n": 1})
    assert commands.once(PAYMENT_WEBHOOK, "pay-1", {"body": "paid"}, lambda: answer(4)) == (200, {"n": 3})
    assert commands.once(caller("bob"), "k", {"body": 1}, lambda: answer(5)) == (200, {"n": 5})


def test_a_key_a_user_called_webhook_payments_used_before_the_upgrade_does_not_block_a_payment(
        store: IdempotencyStore) -> None:
    commands = Commands(Metrics(), lambda _: None, store)
    keep_formerly(store, "webhook:payments", "pay-1", {"route": "POST /v1/generations"}, 1)
    assert commands.once(PAYMENT_WEBHOOK, "pay-1", {"route": "POST /v1/webhooks/payments"},
                         lambda: answer(2)) == (200, {"n": 2})
    with pytest.raises(IdempotencyKeyReused):  # kept now under the webhook's own scope
        commands.once(PAYMENT_WEBHOOK, "pay-1", {"route": "another"}, lambda: answer(3))
