"""The embedded default: in-process dispatch from the ledger's log to a stored image, on every store."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread
import pytest

from ledger import Ledger, Money
from ledger.event_store.follow import Follower
from media.handler import GenerationHandler
from media.image_stores.local import LocalStore
from media.models.local import LocalModel
from media.ports import ImageRequest, ImageResult
from media.templates import load_catalog
from service.inprocess import InProcessPipeline, request_message

pytestmark = pytest.mark.integration
VARIABLES = {"event": "Data Day", "date": "May 3"}


class CountingModel:
    def __init__(self) -> None:
        self.inner = LocalModel(scale=0.1)
        self.calls = 0

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.calls += 1
        return await self.inner.generate(request)

    async def aclose(self) -> None:
        pass


def funded(ledger: Ledger, user: str, credits: int = 10) -> None:
    ledger.purchase(user_id=user, payment_id=f"pay-{user}", pack_id="starter", amount=credits,
                    price=Money(100 * credits, "INR"), at=datetime.now(UTC))


def request(ledger: Ledger, user: str, key: str, template_id: str = "teaser-banner",
            variables: dict[str, Any] | None = None) -> UUID:
    outcome = ledger.request_generation(user_id=user, request_key=key, template_id=template_id, template_version=1,
                                        variables=VARIABLES if variables is None else variables, input_image=None,
                                        cost=3, at=datetime.now(UTC))
    return UUID(str(outcome.value))


def pipeline(ledger: Ledger, tmp_path: Path, model: CountingModel) -> InProcessPipeline:
    return InProcessPipeline(ledger, load_catalog(), model, LocalStore(tmp_path),
                             position_file=tmp_path / "dispatch.position", poll_interval=0.01)


def test_a_request_becomes_a_completed_generation_with_its_hold_captured(app: Ledger, tmp_path: Path) -> None:
    funded(app, "ana")
    gen = request(app, "ana", "k1")
    model = CountingModel()
    assert pipeline(app, tmp_path, model).run_once() == 1
    generation = app.generation(gen)
    assert generation is not None and generation.status == "completed" and generation.captured == 3
    assert generation.image_url.startswith("/media/gallery/") and str(gen) not in generation.image_url
    assert (tmp_path / "media" / generation.image_url.removeprefix("/media/")).exists()
    wallet = app.wallet("ana")
    assert wallet is not None and wallet.available(datetime.now(UTC)) == 7 and wallet.held == 0
    assert wallet.consumed == 3


def test_a_failed_generation_releases_its_credits(app: Ledger, tmp_path: Path) -> None:
    funded(app, "bo")
    gen = request(app, "bo", "k1", template_id="no-such-template")
    pipeline(app, tmp_path, CountingModel()).run_once()
    generation = app.generation(gen)
    assert generation is not None and (generation.status, generation.reason) == ("failed", "invalid_input")
    wallet = app.wallet("bo")
    assert wallet is not None and wallet.available(datetime.now(UTC)) == 10 and wallet.consumed == 0


def test_the_position_survives_a_restart_so_nothing_is_dispatched_twice(app: Ledger, tmp_path: Path) -> None:
    funded(app, "cy")
    request(app, "cy", "k1")
    model = CountingModel()
    first = pipeline(app, tmp_path, model)
    assert first.run_once() == 1
    assert first.position == int((tmp_path / "dispatch.position").read_text())
    assert pipeline(app, tmp_path, model).run_once() == 0
    request(app, "cy", "k2")
    assert pipeline(app, tmp_path, model).run_once() == 1
    assert model.calls == 2


async def test_an_image_stored_before_a_crash_is_recorded_without_rendering_again(app: Ledger,
                                                                                tmp_path: Path) -> None:
    funded(app, "di")
    gen = request(app, "di", "k1")
    [stored] = Follower(app).read()[-1:]
    model = CountingModel()
    handler = GenerationHandler(load_catalog(), model, LocalStore(tmp_path))
    await handler.handle(request_message(stored))  # rendered and stored, then the process died
    assert model.calls == 1
    dispatched = await anyio.to_thread.run_sync(pipeline(app, tmp_path, model).run_once)
    generation = app.generation(gen)
    assert dispatched == 1 and model.calls == 1
    assert generation is not None and generation.status == "completed"


def test_the_background_pipeline_finishes_requests_as_they_are_stored(app: Ledger, tmp_path: Path) -> None:
    funded(app, "ed")
    running = pipeline(app, tmp_path, CountingModel())
    running.start()
    try:
        gens = [request(app, "ed", f"k{i}") for i in range(3)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = [app.generation(g) for g in gens]
            if all(g is not None and g.status == "completed" for g in found):
                break
            time.sleep(0.05)
    finally:
        running.stop()
    assert all(getattr(app.generation(g), "status", None) == "completed" for g in gens)
    wallet = app.wallet("ed")
    assert wallet is not None and wallet.consumed == 9


def test_a_result_the_ledger_refuses_is_logged_and_the_other_learners_images_still_land(
        app: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    funded(app, "ana")
    funded(app, "bo")
    stuck = request(app, "ana", "k1")
    # A purchase dated 2035, as the service accepted one before partner times were bounded: ana's
    # wallet now decides at 2035 (her hold expired then), so the completion of her generation is refused.
    app.purchase(user_id="ana", payment_id="pay-2035", pack_id="starter", amount=10, price=Money(1000, "INR"),
                 at=datetime(2035, 1, 1, tzinfo=UTC))
    fine = request(app, "bo", "k2")
    dispatch = pipeline(app, tmp_path, CountingModel())
    assert dispatch.run_once() == 2
    assert dispatch.refused == 1
    done = app.generation(fine)
    assert done is not None and done.status == "completed"
    left = app.generation(stuck)
    assert left is not None and left.status == "requested"
    assert any(f"result for generation {stuck} was refused (InvalidCommand)" in r.getMessage()
               for r in caplog.records)
