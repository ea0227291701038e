"""What a generation's model calls cost: the provider's figure, else the template's price; every charged call
counts, also a failed one; a call turned away costs nothing; a cost nobody reported is unknown, never free."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import Ledger, Money
from media.costs import Meter, ProviderCost
from media.errors import (
    ContentRefused,
    InvalidInput,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StorageError,
)
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.messages import GenerationCompletedMessage, GenerationFailedMessage, GenerationRequestedMessage
from media.model_spec import ModelSpec
from media.models.flaky import FlakyModel
from media.models.local import LocalModel
from media.models.router import ModelRouter
from media.ports import ImageRequest, ImageResult
from media.templates import Catalog, load_catalog
from service.results import apply_result
from tests.support.worker import CountingModel, requested

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


async def no_sleep(_: float) -> None:
    pass


def priced(catalog: Catalog, price: int | None, provider: str = "replicate") -> Catalog:
    """The shipped catalogue with teaser-banner drawn by ``provider`` at ``price`` micro-dollars an image."""
    prices = {} if price is None else {provider: price}
    spec = ModelSpec(provider=provider, model_id="acme/flux", prices=prices)  # type: ignore[arg-type]
    return Catalog([t.model_copy(update={"model": spec}) if t.id == "teaser-banner" else t for t in catalog.all()])


class Provider(CountingModel):
    """A paid provider: the local model's art under another provider's name, maybe with its own cost figure."""

    def __init__(self, failures: list[Exception] | None = None, *, name: str = "replicate",
                 reports: int | None = None, hang: int = 0) -> None:
        super().__init__(failures)
        self.provider, self.reports, self.hang = name, reports, hang

    async def generate(self, request: ImageRequest) -> ImageResult:
        if self.hang:
            self.hang -= 1
            self.calls += 1
            await asyncio.Event().wait()
        result = await super().generate(request)
        return dataclasses.replace(result, provider=self.provider, model="acme/flux", cost_micro_usd=self.reports)


async def run(tmp_path: Path, model: object, *, price: int | None = 3000, store: LocalStore | None = None,
              template: str = "teaser-banner") -> GenerationCompletedMessage | GenerationFailedMessage:
    handler = GenerationHandler(priced(load_catalog(), price), model,  # type: ignore[arg-type]
                                store or LocalStore(tmp_path), RetryPolicy(attempts=3, backoff=0, timeout=0.5),
                                sleep=no_sleep)
    envelope = requested(template) if template == "teaser-banner" else requested(template, {})
    return await handler.handle(GenerationRequestedMessage.model_validate(envelope))


async def test_an_image_costs_the_templates_price_at_the_provider_that_made_it(tmp_path: Path) -> None:
    done = await run(tmp_path, Provider())
    assert isinstance(done, GenerationCompletedMessage)
    assert done.provider_cost == ProviderCost(provider="replicate", model="acme/flux", calls=1, micro_usd=3000,
                                              source="price")


async def test_the_providers_own_figure_is_preferred_to_the_price(tmp_path: Path) -> None:
    done = await run(tmp_path, Provider(reports=2750))
    assert done.provider_cost is not None
    assert (done.provider_cost.micro_usd, done.provider_cost.source) == (2750, "provider")


async def test_calls_turned_away_cost_nothing_and_calls_given_up_on_are_charged(tmp_path: Path) -> None:
    # Two 429s and a 5xx are turned away at the door; the image on the fourth call is charged once.
    done = await run(tmp_path, Provider([RateLimited("429"), ProviderUnavailable("503")]))
    assert done.provider_cost is not None and (done.provider_cost.calls, done.provider_cost.micro_usd) == (1, 3000)
    # A call we stopped waiting for ran at the provider all the same: two timeouts and an image are three calls.
    done = await run(tmp_path / "b", Provider(hang=2))
    assert isinstance(done, GenerationCompletedMessage)
    assert done.provider_cost is not None and (done.provider_cost.calls, done.provider_cost.micro_usd) == (3, 9000)


@pytest.mark.parametrize(("error", "calls"), [(ProviderError("prediction failed"), 1), (ContentRefused("nsfw"), 1),
                                              (InvalidInput("bad size"), 0)])
async def test_a_failed_generation_carries_what_its_calls_cost(tmp_path: Path, error: Exception, calls: int) -> None:
    failed = await run(tmp_path, Provider([error]))
    assert isinstance(failed, GenerationFailedMessage)
    assert failed.provider_cost is not None
    assert (failed.provider_cost.calls, failed.provider_cost.micro_usd) == (calls, 3000 * calls)
    assert failed.provider_cost.source == ("price" if calls else "none")


async def test_an_image_the_store_could_not_keep_was_still_paid_for(tmp_path: Path) -> None:
    class BrokenStore(LocalStore):
        async def put(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            raise StorageError("disk full")

    failed = await run(tmp_path, Provider(), store=BrokenStore(tmp_path))
    assert isinstance(failed, GenerationFailedMessage) and failed.reason == "storage_error"
    assert failed.provider_cost is not None
    assert (failed.provider_cost.calls, failed.provider_cost.micro_usd) == (1, 3000)


async def test_a_request_refused_before_the_model_costs_nothing(tmp_path: Path) -> None:
    failed = await run(tmp_path, Provider(), template="teaser-banner-missing")
    assert isinstance(failed, GenerationFailedMessage) and failed.reason == "invalid_input"
    assert failed.provider_cost == ProviderCost(provider="", model="", calls=0, micro_usd=0, source="none")


async def test_a_provider_without_a_price_is_an_unknown_cost_and_local_is_free(tmp_path: Path) -> None:
    done = await run(tmp_path, Provider(), price=None)
    assert done.provider_cost is not None and (done.provider_cost.micro_usd, done.provider_cost.source) == (
        None, "unknown")
    done = await run(tmp_path / "l", LocalModel(scale=0.1), price=None)
    assert done.provider_cost == ProviderCost(provider="local", model="pillow", calls=1, micro_usd=0, source="price")


async def test_a_routed_call_is_priced_at_the_alternative_that_took_it(tmp_path: Path) -> None:
    spec = ModelSpec(provider="replicate", model_id="acme/flux", alternatives={"huggingface": "hf/flux"},
                     prices={"replicate": 3000, "huggingface": 1200})
    router = ModelRouter({"huggingface": Provider([ProviderError("boom")], name="huggingface")})
    meter = Meter(FlakyModel(router), spec)
    assert (meter.provider, meter.model_id) == ("huggingface", "hf/flux")
    with pytest.raises(ProviderError):
        await meter.generate(ImageRequest(generation_id="g", prompt=None, model=spec, aspect_ratio="1:1", seed=1))  # type: ignore[arg-type]
    assert meter.cost() == ProviderCost(provider="huggingface", model="hf/flux", calls=1, micro_usd=1200,
                                        source="price")


def test_the_ledger_keeps_the_first_reported_cost_and_old_events_read_as_unknown() -> None:
    app = Ledger()
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(999, "USD"), at=T0)
    gen = app.request_generation(user_id="ann", request_key="k1", template_id="poster", template_version=1,
                                 variables={}, input_image=None, cost=5, at=T0).value
    old = app.request_generation(user_id="ann", request_key="k2", template_id="poster", template_version=1,
                                 variables={}, input_image=None, cost=5, at=T0).value
    image = {"image_url": "file:///x.png", "storage_id": "x", "provider": "replicate", "model": "m", "seed": 1,
             "timings": {}}
    cost = {"provider": "replicate", "model": "m", "calls": 1, "micro_usd": 3000, "source": "price"}
    app.complete_generation(generation_id=gen, at=T0 + timedelta(seconds=5), provider_cost=cost, **image)
    again = app.complete_generation(generation_id=gen, at=T0 + timedelta(seconds=9), provider_cost=None, **image)
    assert again.repeated
    app.fail_generation(generation_id=old, reason="timeout", retryable=True, at=T0 + timedelta(seconds=5))
    [done] = [e for e in app.events.get(gen) if type(e).__name__ == "GenerationCompleted"]
    [failed] = [e for e in app.events.get(old) if type(e).__name__ == "GenerationFailed"]
    assert done.provider_cost == cost and failed.provider_cost is None


def test_a_result_message_with_a_hostile_cost_is_refused() -> None:
    base = {"generation_id": str(uuid.uuid4()), "request_event_id": str(uuid.uuid4()), "reason": "x",
            "retryable": False, "finished_at": T0.isoformat()}
    for bad in ({"provider": "r", "model": "m", "calls": -1, "micro_usd": 0, "source": "price"},
                {"provider": "r", "model": "m", "calls": 1, "micro_usd": -5, "source": "price"},
                {"provider": "r", "model": "m", "calls": 1, "micro_usd": 10**15, "source": "price"},
                {"provider": "r", "model": "m", "calls": 1, "micro_usd": 1, "source": "guessed"},
                {"provider": "r" * 41, "model": "m", "calls": 1, "micro_usd": 1, "source": "price"},
                {"provider": "r", "model": "m", "calls": 1, "micro_usd": 1, "source": "price", "extra": 1}):
        with pytest.raises(ValueError, match="provider_cost"):
            GenerationFailedMessage.model_validate({**base, "provider_cost": bad})
    assert GenerationFailedMessage.model_validate(base).provider_cost is None  # from a worker that did not say


def test_apply_result_records_the_cost_on_the_ledger() -> None:
    app = Ledger()
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(999, "USD"), at=T0)
    gen = app.request_generation(user_id="ann", request_key="k1", template_id="poster", template_version=1,
                                 variables={}, input_image=None, cost=5, at=T0).value
    cost = ProviderCost(provider="openai", model="gpt-image-1", calls=2, micro_usd=126000, source="price")
    apply_result(app, GenerationFailedMessage(generation_id=gen, request_event_id=uuid.uuid4(), reason="safety",
                                              retryable=False, finished_at=T0, provider_cost=cost), T0)
    [failed] = [e for e in app.events.get(gen) if type(e).__name__ == "GenerationFailed"]
    assert failed.provider_cost == cost.model_dump()
