"""A generation keeps the words and price of the template version that made it: publishing a new version
and replaying the projections changes no old statement line, gallery card or share page title."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ledger import Ledger, Money
from media.templates import CATALOG_DIR, template_fields
from media.tomlfile import read_toml
from projections import Projector, all_projections
from projections.generations import gallery
from projections.statement import wallet_statement
from tests.conftest import T0

pytestmark = pytest.mark.integration
WEBINAR = template_fields(read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError))
RENAMED = {**WEBINAR, "title": "Live session poster", "cost": 7,
           "translations": {"hi": {**WEBINAR["translations"]["hi"], "title": "लाइव सत्र पोस्टर"}}}


def generate(app: Ledger, key: str, version: int, cost: int, at: Any) -> Any:
    requested = app.request_generation(user_id="ann", request_key=key, template_id="poster-webinar",
                                       template_version=version, variables={"topic": f"Topic {key}", "time": "6 pm",
                                                                            "style": "flat"},
                                       input_image=None, cost=cost, at=at)
    app.complete_generation(generation_id=requested.value, at=at + timedelta(seconds=5), image_url="/x.png",
                            storage_id=key, provider="local", model="m", seed=1, timings={})
    return requested.value


def words(engine: Engine) -> tuple[list[str], list[tuple[str, int | None, str, int | None]]]:
    with engine.connect() as conn:
        lines = [r.description for r in conn.execute(select(wallet_statement.c.description).where(
            wallet_statement.c.type == "HoldCaptured").order_by(wallet_statement.c.position))]
        cards = [(r.title, r.template_version, r.template_title, r.cost) for r in conn.execute(
            select(gallery).order_by(gallery.c.position))]
    return lines, cards


def test_a_renamed_and_repriced_template_changes_no_old_line_even_after_a_rebuild(
        app: Ledger, read_engine: Engine) -> None:
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    app.import_template(template_id="poster-webinar", spec=WEBINAR, by="ops", reason="catalog", at=T0)
    generate(app, "first", 1, 5, T0 + timedelta(minutes=1))
    app.draft_template(template_id="poster-webinar", spec=RENAMED, by="asha", reason="rename, new price",
                       at=T0 + timedelta(minutes=2))
    app.publish_template(template_id="poster-webinar", by="asha", reason="rename", at=T0 + timedelta(minutes=2))
    generate(app, "second", 2, 7, T0 + timedelta(minutes=3))
    projector = Projector(app, read_engine, all_projections())
    projector.setup()
    projector.catch_up()
    expected = (["Webinar poster: Topic first (charged)", "Live session poster: Topic second (charged)"],
                [("Topic first", 1, "Webinar poster", 5), ("Topic second", 2, "Live session poster", 7)])
    assert words(read_engine) == expected
    projector.rebuild()
    assert words(read_engine) == expected
    with read_engine.connect() as conn:
        titles = [r.template_titles for r in conn.execute(select(gallery).order_by(gallery.c.position))]
    assert [t["hi"] for t in titles] == ["वेबिनार पोस्टर", "लाइव सत्र पोस्टर"]


def test_a_generation_of_a_version_the_ledger_never_published_is_named_from_the_earlier_words(
        app: Ledger, read_engine: Engine) -> None:
    from media.templates import load_catalog
    from projections.descriptions import Subjects

    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    generate(app, "old", 1, 5, T0)  # requested before templates were kept in the ledger
    projector = Projector(app, read_engine, all_projections(Subjects.from_templates(load_catalog().all())))
    projector.setup()
    projector.catch_up()
    lines, cards = words(read_engine)
    assert lines == ["Webinar poster: Topic old (charged)"]
    assert cards == [("Topic old", 1, "", 5)]
