"""The sweeper and the late-completion policy, on every store."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import pytest

from ledger import Ledger, Money
from media.messages import GenerationCompletedMessage
from service.results import apply_result
from service.sweeper import Sweeper, SweepLoop, Swept
from tests.conftest import T0

pytestmark = pytest.mark.integration
LATER = T0 + timedelta(minutes=16)


def funded(ledger: Ledger, user: str, credits: int) -> None:
    ledger.purchase(user_id=user, payment_id=f"pay-{user}", pack_id="starter", amount=credits,
                    price=Money(100 * credits, "INR"), at=T0)


def request(ledger: Ledger, user: str, key: str = "k1", cost: int = 4) -> UUID:
    outcome = ledger.request_generation(user_id=user, request_key=key, template_id="teaser-banner",
                                        template_version=1, variables={"event": "E", "date": "D"},
                                        input_image=None, cost=cost, at=T0)
    return UUID(str(outcome.value))


def completed(gen: UUID) -> GenerationCompletedMessage:
    return GenerationCompletedMessage(generation_id=gen, request_event_id=gen, image_url=f"/media/gallery/{gen}.png",
                                      storage_id=str(gen), provider="local", model="pillow", seed=1,
                                      timings={"model": 0.1}, finished_at=LATER)


def test_a_generation_past_its_deadline_fails_with_timeout_and_its_credits_return(app: Ledger) -> None:
    funded(app, "ana", 10)
    gen = request(app, "ana")
    swept = Sweeper(app).sweep(LATER)
    assert swept.generations_failed == 1
    generation = app.generation(gen)
    assert generation is not None and (generation.status, generation.reason) == ("failed", "timeout")
    wallet = app.wallet("ana")
    assert wallet is not None
    assert wallet.hold(str(gen)).status == "expired" and wallet.available(LATER) == 10 and wallet.held == 0
    assert Sweeper(app).sweep(LATER + timedelta(minutes=1)).generations_failed == 0


def test_a_generation_within_its_deadline_is_left_alone(app: Ledger) -> None:
    funded(app, "bo", 10)
    gen = request(app, "bo")
    assert Sweeper(app).sweep(T0 + timedelta(minutes=14)).generations_failed == 0
    assert getattr(app.generation(gen), "status", None) == "requested"


def test_a_plain_hold_past_its_deadline_expires(app: Ledger) -> None:
    funded(app, "cy", 10)
    app.place_hold(user_id="cy", hold_id="h-1", amount=3, at=T0, expires_at=T0 + timedelta(minutes=5))
    app.place_hold(user_id="cy", hold_id="h-2", amount=3, at=T0, expires_at=T0 + timedelta(hours=5))
    sweeper = Sweeper(app)
    assert sweeper.sweep(T0 + timedelta(minutes=6)).holds_expired == 1
    wallet = app.wallet("cy")
    assert wallet is not None and wallet.hold("h-1").status == "expired" and wallet.hold("h-2").status == "pending"
    assert sweeper.sweep(T0 + timedelta(minutes=7)).holds_expired == 0


def test_a_late_completion_is_charged_when_the_credits_are_there(app: Ledger) -> None:
    funded(app, "di", 10)
    gen = request(app, "di")
    apply_result(app, completed(gen), LATER)
    generation = app.generation(gen)
    assert generation is not None and generation.status == "completed" and generation.captured == 4
    wallet = app.wallet("di")
    assert wallet is not None and wallet.consumed == 4 and wallet.available(LATER) == 6


def test_a_late_completion_without_credits_is_written_off_never_negative(app: Ledger) -> None:
    funded(app, "ed", 4)
    gen = request(app, "ed")
    app.place_hold(user_id="ed", hold_id="other", amount=4, at=LATER - timedelta(seconds=1),
                   expires_at=LATER + timedelta(hours=1))  # the returned credits went into another hold
    apply_result(app, completed(gen), LATER)
    generation = app.generation(gen)
    assert generation is not None and generation.status == "completed" and generation.captured == 0
    wallet = app.wallet("ed")
    assert wallet is not None and wallet.consumed == 0 and wallet.available(LATER) == 0


def test_a_completion_after_the_sweep_changes_nothing(app: Ledger) -> None:
    funded(app, "fa", 10)
    gen = request(app, "fa")
    Sweeper(app).sweep(LATER)
    assert apply_result(app, completed(gen), LATER + timedelta(seconds=5)) is None
    generation = app.generation(gen)
    wallet = app.wallet("fa")
    assert generation is not None and generation.status == "failed"
    assert wallet is not None and wallet.consumed == 0 and wallet.available(LATER) == 10


def test_the_loop_folds_the_log_in_between_sweeps_and_resolves_nothing_until_the_next(app: Ledger) -> None:
    funded(app, "ana", 10)
    clock = [T0]
    sweeper = Sweeper(app, clock=lambda: clock[0])
    loop = SweepLoop(sweeper, interval=3600, follow_every=0.02)

    def waited_for(condition: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        return condition()

    loop.start()
    try:
        assert waited_for(lambda: "ana" in sweeper.pending.users.values())  # the first sweep ran, nothing due
        clock[0] = LATER  # from now on a generation requested at T0 is past its deadline
        gen = request(app, "ana")
        assert waited_for(lambda: gen in sweeper.pending.generations)  # folded in long before the next sweep
        time.sleep(0.1)  # several more follow steps
    finally:
        loop.stop()
    assert loop.last == Swept()
    assert app.generation(gen).status == "requested"  # only a sweep resolves what is due
    assert sweeper.sweep().generations_failed == 1  # and the next one does


def test_with_a_retention_period_images_never_shared_are_deleted_once_older_and_their_credits_stay(
        app: Ledger) -> None:
    funded(app, "di", 20)
    kept, shared = request(app, "di", "k1"), request(app, "di", "k2")
    for gen in (kept, shared):
        app.start_generation(generation_id=gen, worker="w", at=T0)
        apply_result(app, completed(gen), T0 + timedelta(minutes=1))
    app.share_generation(generation_id=shared, user_id="di", token="t-di", at=T0 + timedelta(minutes=2))
    app.unshare_generation(generation_id=shared, user_id="di", at=T0 + timedelta(minutes=3))  # shared once: kept
    purged: list[str] = []
    sweeper = Sweeper(app, retention=timedelta(days=30), purge=purged.append)
    assert sweeper.sweep(T0 + timedelta(days=29)).images_deleted == 0
    assert sweeper.sweep(T0 + timedelta(days=31)).images_deleted == 1 and purged == [str(kept)]
    deleted, other = app.generation(kept), app.generation(shared)
    assert deleted is not None and deleted.image_deleted and other is not None and not other.image_deleted
    wallet = app.wallet("di")
    assert wallet is not None and wallet.available(T0 + timedelta(days=31)) == 12 and wallet.held == 0
    assert sweeper.sweep(T0 + timedelta(days=32)).images_deleted == 0
    assert Sweeper(app, retention=timedelta(days=30), purge=purged.append).sweep(
        T0 + timedelta(days=40)).images_deleted == 0 and purged == [str(kept)]


def test_without_a_retention_period_or_a_store_to_delete_from_no_image_is_deleted(app: Ledger) -> None:
    funded(app, "ed", 10)
    gen = request(app, "ed")
    app.start_generation(generation_id=gen, worker="w", at=T0)
    apply_result(app, completed(gen), T0 + timedelta(minutes=1))
    assert Sweeper(app).sweep(T0 + timedelta(days=3650)).images_deleted == 0
    assert Sweeper(app, retention=timedelta(days=1)).sweep(T0 + timedelta(days=3650)).images_deleted == 0
    assert not getattr(app.generation(gen), "image_deleted", True)
