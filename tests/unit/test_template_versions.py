"""A catalog of template versions: the one in effect now, any version by number, retired templates gone
from the studio but not from their images, and the worker rendering the version a generation names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.messages import GenerationRequestedMessage
from media.ports import ImageRequest, ImageResult
from media.templates import (
    CATALOG_DIR,
    Catalog,
    Published,
    UnknownTemplate,
    at_version,
    template_fields,
)
from media.tomlfile import read_toml
from tests.support.worker import CountingModel, requested

pytestmark = pytest.mark.unit
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
BANNER = template_fields(read_toml(CATALOG_DIR / "teaser-banner.toml", ValueError))
V1 = at_version(BANNER, 1, where="v1")
V2 = at_version({**BANNER, "title": "Festival banner", "cost": 9, "prompt": "A festive banner for {event}"}, 2,
                where="v2")


def catalog(*, retired: frozenset[str] = frozenset(), at: datetime = NOW) -> Catalog:
    versions = {"teaser-banner": [Published(V1, NOW - timedelta(days=1)), Published(V2, NOW + timedelta(hours=1))]}
    return Catalog([], versions=versions, retired=retired, clock=lambda: at)


def test_the_version_in_effect_is_the_newest_whose_time_has_come() -> None:
    assert (catalog().get("teaser-banner").version, catalog().get("teaser-banner").cost) == (1, V1.cost)
    later = catalog(at=NOW + timedelta(hours=1))
    assert (later.get("teaser-banner").version, later.get("teaser-banner").cost) == (2, 9)
    assert [t.version for t in later.all()] == [2]
    with pytest.raises(UnknownTemplate):
        catalog(at=NOW - timedelta(days=2)).get("teaser-banner")  # not yet published then


def test_a_retired_template_leaves_the_studio_but_every_version_stays_readable() -> None:
    retired = catalog(retired=frozenset({"teaser-banner"}))
    assert retired.all() == []
    with pytest.raises(UnknownTemplate):
        retired.get("teaser-banner")
    assert retired.version("teaser-banner", 2).title == "Festival banner"
    with pytest.raises(UnknownTemplate, match="no version 3"):
        retired.version("teaser-banner", 3)


class PromptModel(CountingModel):
    """The local model, keeping each prompt it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.prompts.append(request.prompt.text)
        return await super().generate(request)


async def test_the_worker_renders_the_version_the_generation_names_not_the_newest(tmp_path: Path) -> None:
    model = PromptModel()
    handler = GenerationHandler(catalog(at=NOW + timedelta(days=1)), model, LocalStore(tmp_path),
                                RetryPolicy(attempts=1, backoff=0, timeout=5))
    envelope = requested("teaser-banner")
    assert envelope["payload"]["template_version"] == 1
    done = await handler.handle(GenerationRequestedMessage.model_validate(envelope))
    assert done.finished_at and not hasattr(done, "reason"), done
    assert model.prompts and "festive" not in model.prompts[0]
    assert model.prompts[0].startswith(V1.render(envelope["payload"]["variables"]).text.split(",")[0])


def test_featured_templates_come_first_in_their_category_then_by_their_sort_order() -> None:
    from api.http.web.page import by_category

    plain = at_version({**BANNER, "id": "a-plain"}, 1, where="a")
    ordered = at_version({**BANNER, "id": "b-ordered", "sort_order": 1}, 1, where="b")
    featured = at_version({**BANNER, "id": "c-featured", "featured": True, "sort_order": 5}, 1, where="c")
    [(category, teasers)] = by_category([plain, ordered, featured])
    assert category == "teaser" and [t.id for t in teasers] == ["c-featured", "a-plain", "b-ordered"]


class Named:
    """A model that answers with the provider and model id it was asked for."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[str] = []

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.asked.append(f"{request.model.provider}:{request.model.model_id}")
        return ImageResult(b"png", "image/png", self.name, request.model.model_id, seed=1)

    async def aclose(self) -> None:
        pass


async def test_a_template_whose_provider_is_not_enabled_goes_to_its_first_enabled_alternative() -> None:
    import dataclasses

    from media.errors import ConfigError
    from media.models.router import ModelRouter
    from media.samples import request as sample_request

    spec = V1.model.model_copy(update={"provider": "openai", "model_id": "gpt-image-1",
                                       "alternatives": {"stability": "sd3", "huggingface": "flux", "local": "art"}})
    ask = dataclasses.replace(sample_request(V1, {"event": "E", "date": "D"}, uuid4()), model=spec)
    hugging, local = Named("huggingface"), Named("local")
    assert (await ModelRouter({"huggingface": hugging, "local": local}).generate(ask)).model == "flux"
    assert hugging.asked == ["huggingface:flux"] and local.asked == []
    with pytest.raises(ConfigError, match="nor any of its alternatives"):
        await ModelRouter({"replicate": local}).generate(ask)
