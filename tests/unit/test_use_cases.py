"""The use cases called directly: an in-memory ledger, the shipped catalog, a fixed clock and fake photos."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

import anyio
import pytest
from sqlalchemy.engine import Engine

from ledger import InsufficientCredits, Ledger, Money, Outcome, UnknownReference
from media.ports import UploadInfo
from media.templates import Catalog, UnknownTemplate, VariableError, load_catalog
from projections import Projector, all_projections
from projections.db import make_engine
from service import admin, shares
from service.commands import Commands
from service.generations import GenerationRequest, Requested, request_generation
from service.metrics import Metrics
from service.policy import load_policy
from tests.conftest import T0
from tests.support.fakes import FakePhotos, Recorder

pytestmark = pytest.mark.unit
POLICY = load_policy().model_copy(update={"timezone": "UTC"})
TTL = timedelta(minutes=10)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    """A ledger on the in-memory store, alice with a starter pack of 100 credits."""
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.purchase(user_id="alice", payment_id="pay-1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    yield app
    app.close()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def upload(upload_id: str, owner: str, expires_in: timedelta) -> UploadInfo:
    return UploadInfo(upload_id=upload_id, owner=owner, content_type="image/png", width=10, height=10,
                      created_at=T0, expires_at=T0 + expires_in)


def requesting(*args: Any, **kwargs: Any) -> Requested:
    """``request_generation`` awaited, as the route awaits it (under the test policy unless told)."""
    return anyio.run(partial(request_generation, *args, **{"policy": POLICY, **kwargs}))


def asking(template_id: str = "poster-webinar", **photo: str) -> GenerationRequest:
    variables = {"topic": "Intro to SQL", "time": "Friday 6 pm"} if template_id == "poster-webinar" else {}
    return GenerationRequest(user_id="alice", key="k-1", template_id=template_id, variables=variables, **photo)


def test_requesting_a_generation_holds_the_templates_cost(ledger: Ledger, catalog: Catalog) -> None:
    run = Recorder()
    requested = requesting(ledger, catalog, FakePhotos(), asking(), at=T0, hold_ttl=TTL, run=run)
    cost = catalog.get("poster-webinar").cost
    assert requested.cost == cost and not requested.repeated
    assert run.names == ["request_generation"]
    wallet = ledger.wallet("alice")
    assert wallet is not None and wallet.held == cost
    generation = ledger.generation(requested.generation_id)
    assert generation is not None and generation.user_id == "alice"


def test_the_same_request_key_is_the_same_generation(ledger: Ledger, catalog: Catalog) -> None:
    first = requesting(ledger, catalog, FakePhotos(), asking(), at=T0, hold_ttl=TTL)
    again = requesting(ledger, catalog, FakePhotos(), asking(), at=T0, hold_ttl=TTL)
    assert again.generation_id == first.generation_id and again.repeated


def test_an_unknown_template_is_refused_before_any_command(ledger: Ledger, catalog: Catalog) -> None:
    run = Recorder()
    with pytest.raises(UnknownTemplate):
        requesting(ledger, catalog, FakePhotos(), asking("no-such-template"), at=T0, hold_ttl=TTL, run=run)
    assert run.names == []


def test_a_photo_sent_both_as_upload_and_url_names_the_upload_field(ledger: Ledger, catalog: Catalog) -> None:
    both = asking("profile-avatar", upload_id="u1", image_url="https://example.com/me.png")
    with pytest.raises(VariableError) as refused:
        requesting(ledger, catalog, FakePhotos(), both, at=T0, hold_ttl=TTL)
    assert refused.value.field == "input_upload_id"


@pytest.mark.parametrize("kept", [
    {},  # no upload at all
    {"bob": [upload("u1", "bob", timedelta(hours=1))]},  # another user's
    {"alice": [upload("u1", "alice", timedelta(0))]},  # expired at the request's time
], ids=["none", "someone-elses", "expired"])
def test_an_upload_that_is_not_the_callers_current_one_is_refused(ledger: Ledger, catalog: Catalog,
                                                                   kept: dict[str, list[UploadInfo]]) -> None:
    run = Recorder()
    with pytest.raises(VariableError, match="you have no upload u1") as refused:
        requesting(ledger, catalog, FakePhotos(kept=kept), asking("profile-avatar", upload_id="u1"),
                           at=T0, hold_ttl=TTL, run=run)
    assert refused.value.field == "input_upload_id" and run.names == []


def test_a_current_upload_of_the_caller_is_taken_as_the_photo(ledger: Ledger, catalog: Catalog) -> None:
    photos = FakePhotos(kept={"alice": [upload("u1", "alice", timedelta(minutes=1))]})
    requested = requesting(ledger, catalog, photos, asking("profile-avatar", upload_id="u1"), at=T0,
                                   hold_ttl=TTL)
    generation = ledger.generation(requested.generation_id)
    assert generation is not None and generation.input_image == "upload:u1"


def test_a_photo_url_is_fetched_now_and_a_refusal_names_the_url_field(ledger: Ledger, catalog: Catalog) -> None:
    url = "https://10.0.0.1/me.png"
    photos = FakePhotos()
    with pytest.raises(VariableError, match="private network") as refused:
        requesting(ledger, catalog, photos, asking("profile-avatar", image_url=url), at=T0, hold_ttl=TTL)
    assert refused.value.field == "input_image_url" and photos.fetched == [url]
    photos.good_urls.add(url)
    requesting(ledger, catalog, photos, asking("profile-avatar", image_url=url), at=T0, hold_ttl=TTL)
    assert photos.fetched == [url, url]


def test_a_request_beyond_the_wallet_is_insufficient_credits(catalog: Catalog) -> None:
    empty = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        with pytest.raises(InsufficientCredits):
            requesting(empty, catalog, FakePhotos(), asking(), at=T0, hold_ttl=TTL)
    finally:
        empty.close()


def test_a_learner_without_the_credits_is_refused_before_their_photo_is_fetched(catalog: Catalog) -> None:
    url = "https://example.com/me.png"
    photos = FakePhotos(good_urls={url})
    empty = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        with pytest.raises(InsufficientCredits):
            requesting(empty, catalog, photos, asking("profile-avatar", image_url=url), at=T0, hold_ttl=TTL)
    finally:
        empty.close()
    assert photos.fetched == []  # a fetch holds a connection for up to STUDIO_FETCH_TIMEOUT_S: not for nothing


def finished(ledger: Ledger, key: str = "k-1", user_id: str = "alice") -> UUID:
    """A finished image of ``user_id``."""
    generation: UUID = ledger.request_generation(
        user_id=user_id, request_key=key, template_id="poster-webinar", template_version=1, variables={},
        input_image=None, cost=1, at=T0).value
    ledger.complete_generation(generation_id=generation, at=T0 + timedelta(seconds=5), image_url="/i.png",
                               storage_id="s", provider="local", model="m", seed=1, timings={})
    return generation


def test_the_first_share_earns_the_bonus_and_a_repeat_earns_nothing(ledger: Ledger) -> None:
    image, run = finished(ledger), Recorder()
    first = shares.share_generation(ledger, POLICY, user_id="alice", generation_id=image, at=T0, token="tok-1",
                                    run=run)
    assert first.bonus == POLICY.share.credits and first.token == "tok-1"
    assert run.names == ["share_generation", "grant_share_bonus"]
    again = shares.share_generation(ledger, POLICY, user_id="alice", generation_id=image, at=T0, token="tok-2")
    assert again.bonus == 0 and again.token == "tok-1" and again.position == first.position


def test_no_bonus_is_granted_when_the_policy_pays_none(ledger: Ledger) -> None:
    image, run = finished(ledger), Recorder()
    unpaid = POLICY.model_copy(update={"share": POLICY.share.model_copy(update={"credits": 0})})
    shared = shares.share_generation(ledger, unpaid, user_id="alice", generation_id=image, at=T0, run=run)
    assert shared.bonus == 0 and shared.token and run.names == ["share_generation"]


def test_the_bonus_keeps_to_the_daily_cap(ledger: Ledger) -> None:
    cap = POLICY.share.max_bonuses_per_day
    images = [finished(ledger, key=f"k-{n}") for n in range(cap + 1)]
    bonuses = [shares.share_generation(ledger, POLICY, user_id="alice", generation_id=i, at=T0).bonus
               for i in images]
    assert bonuses == [POLICY.share.credits] * cap + [0]


def test_only_the_owner_shares_or_unshares_an_image(ledger: Ledger) -> None:
    image = finished(ledger)
    with pytest.raises(UnknownReference):
        shares.share_generation(ledger, POLICY, user_id="mallory", generation_id=image, at=T0)
    with pytest.raises(UnknownReference):
        shares.unshare_generation(ledger, user_id="mallory", generation_id=image, at=T0)


def test_unsharing_makes_the_image_private_once(ledger: Ledger) -> None:
    image = finished(ledger)
    shares.share_generation(ledger, POLICY, user_id="alice", generation_id=image, at=T0)
    assert shares.unshare_generation(ledger, user_id="alice", generation_id=image, at=T0).value is True
    again = shares.unshare_generation(ledger, user_id="alice", generation_id=image, at=T0)
    assert again.value is False and again.repeated


def test_an_admin_grant_is_once_per_user_and_key(ledger: Ledger) -> None:
    grant: dict[str, Any] = {"user_id": "bob", "amount": 30, "reason": "apology", "at": T0, "expires_at": None}
    first = admin.grant_promo(ledger, key="g-1", **grant)
    again = admin.grant_promo(ledger, key="g-1", **grant)
    other = admin.grant_promo(ledger, key="g-2", **grant)
    assert not first.repeated and again.repeated and again.position == first.position and not other.repeated
    wallet = ledger.wallet("bob")
    assert wallet is not None and wallet.available(T0) == 60


def test_an_adjustment_cannot_take_more_than_is_available(ledger: Ledger) -> None:
    with pytest.raises(InsufficientCredits):
        admin.adjust(ledger, user_id="alice", key="a-1", delta=-101, reason="correction", at=T0)
    taken = admin.adjust(ledger, user_id="alice", key="a-1", delta=-40, reason="correction", at=T0)
    wallet = ledger.wallet("alice")
    assert not taken.repeated and wallet is not None and wallet.available(T0) == 60


@pytest.fixture
def reads(ledger: Ledger) -> Iterator[Engine]:
    """The read tables of ``ledger`` in an in-memory SQLite database, caught up."""
    engine = make_engine("sqlite://")
    projector = Projector(ledger, engine, all_projections())
    projector.setup()
    projector.catch_up()
    yield engine
    engine.dispose()


def test_an_admin_sees_a_wallet_with_its_grants_and_not_a_missing_one(ledger: Ledger, reads: Engine) -> None:
    with reads.connect() as conn:
        found = admin.wallet_with_grants(conn, "alice", T0)
        assert found is not None
        assert found.wallet["available"] == 100 and [g["amount"] for g in found.grants] == [100]
        assert admin.wallet_with_grants(conn, "nobody", T0) is None


def test_commands_count_each_outcome_and_note_its_position(ledger: Ledger) -> None:
    metrics, seen = Metrics(), []
    commands = Commands(metrics, seen.append, idempotency=None)  # type: ignore[arg-type]

    def grant() -> Outcome:
        return admin.grant_promo(ledger, user_id="bob", key="g", amount=5, reason="r", at=T0, expires_at=None,
                                 run=commands.run)

    first, _ = grant(), grant()
    with pytest.raises(InsufficientCredits):
        admin.adjust(ledger, user_id="bob", key="a", delta=-50, reason="r", at=T0, run=commands.run)

    def count(outcome: str, name: str = "grant_promo") -> float | None:
        return metrics.registry.get_sample_value("studio_commands_total", {"command": name, "outcome": outcome})

    assert (count("ok"), count("repeated"), count("insufficient-credits", "adjust")) == (1.0, 1.0, 1.0)
    assert seen == [first.position, first.position]
