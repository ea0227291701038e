"""The catalog read from the ledger's templates: the projection follows every change, a publish reaches
two replicas' catalogs within seconds, a retired template leaves the studio but keeps its versions, and a
worker renders the version a generation names."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ledger import Ledger
from media.templates import CATALOG_DIR, UnknownTemplate, load_catalog, template_fields
from media.tomlfile import read_toml
from projections import Projector, all_projections
from projections.db import make_engine
from projections.templates import template_versions, templates
from service.templates import LiveCatalog, import_folder, import_new

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
WEBINAR = template_fields(read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError))
DIWALI = {**WEBINAR, "id": "diwali-offer", "title": "Diwali offer",
          "translations": {"hi": {"title": "दिवाली ऑफ़र", "description": "त्योहार का पोस्टर"}}}


@pytest.fixture
def projector(app: Ledger, read_engine: Engine) -> Projector:
    built = Projector(app, read_engine, all_projections())
    built.setup()
    return built


def eventually(check: Callable[[], bool], within: float = 5.0) -> float:
    """Seconds until ``check`` holds; fails after ``within``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "not within the time allowed"
        time.sleep(0.02)
    return time.monotonic() - started


def test_the_projection_follows_drafts_versions_and_retirement(app: Ledger, projector: Projector,
                                                                read_engine: Engine) -> None:
    app.draft_template(template_id="diwali-offer", spec=DIWALI, by="asha", reason="festival", at=NOW)
    app.publish_template(template_id="diwali-offer", by="asha", reason="approved", at=NOW)
    app.draft_template(template_id="diwali-offer", spec={**DIWALI, "cost": 6}, by="ravi", reason="price", at=NOW)
    projector.catch_up()
    with read_engine.connect() as conn:
        row = conn.execute(select(templates)).mappings().one()
        assert (row["status"], row["latest_version"], row["draft"]["cost"], row["updated_by"]) == (
            "published", 1, 6, "ravi")
    app.publish_template(template_id="diwali-offer", by="ravi", reason="price", at=NOW)
    app.retire_template(template_id="diwali-offer", by="ravi", reason="over", at=NOW)
    projector.catch_up()
    with read_engine.connect() as conn:
        row = conn.execute(select(templates)).mappings().one()
        assert (row["status"], row["latest_version"], row["draft"]) == ("retired", 2, None)
        versions = conn.execute(select(template_versions).order_by(template_versions.c.version)).mappings().all()
        assert [(v["version"], v["fields"]["cost"], v["published_by"], v["reason"]) for v in versions] == [
            (1, 5, "asha", "approved"), (2, 6, "ravi", "price")]


@contextmanager
def replica(read_engine: Engine) -> Iterator[LiveCatalog]:
    """A second process's catalog: its own engine on the same read database."""
    engine = make_engine(read_engine.url.render_as_string(hide_password=False), pool_size=1)
    catalog = LiveCatalog(engine, interval=0.05)
    catalog.start()
    yield catalog
    catalog.stop()
    engine.dispose()


def test_two_replicas_see_a_publish_within_seconds_and_a_retired_template_leaves_them(
        app: Ledger, projector: Projector, read_engine: Engine) -> None:
    import_folder(app, CATALOG_DIR, at=NOW)
    projector.catch_up()
    with replica(read_engine) as first, replica(read_engine) as second:
        seen_by_both(app, projector, [first, second])


def seen_by_both(app: Ledger, projector: Projector, catalogs: list[LiveCatalog]) -> None:
    assert all(len(c.all()) == 13 for c in catalogs)
    app.draft_template(template_id="diwali-offer", spec=DIWALI, by="asha", reason="festival", at=NOW)
    published = app.publish_template(template_id="diwali-offer", by="asha", reason="approved", at=NOW)
    projector.catch_up()
    seconds = eventually(lambda: all("diwali-offer" in {t.id for t in c.all()} for c in catalogs))
    assert seconds < 2 and published.value == 1
    assert [c.get("diwali-offer").title_in("hi") for c in catalogs] == ["दिवाली ऑफ़र"] * 2
    app.retire_template(template_id="diwali-offer", by="asha", reason="festival over", at=NOW)
    projector.catch_up()
    eventually(lambda: all("diwali-offer" not in {t.id for t in c.all()} for c in catalogs))
    for catalog in catalogs:
        with pytest.raises(UnknownTemplate):
            catalog.get("diwali-offer")
        assert catalog.version("diwali-offer", 1).title == "Diwali offer"  # its images keep their words


def test_a_price_change_takes_effect_at_its_time(app: Ledger, projector: Projector,
                                                 read_engine: Engine) -> None:
    clock = [NOW]
    app.import_template(template_id="poster-webinar", spec=WEBINAR, by="ops", reason="catalog", at=NOW)
    app.draft_template(template_id="poster-webinar", spec={**WEBINAR, "cost": 8}, by="ops", reason="dearer", at=NOW)
    app.publish_template(template_id="poster-webinar", by="ops", reason="dearer from tomorrow", at=NOW,
                         effective_at=NOW + timedelta(days=1))
    projector.catch_up()
    catalog = LiveCatalog(read_engine, clock=lambda: clock[0])
    catalog.refresh()
    assert (catalog.get("poster-webinar").cost, catalog.get("poster-webinar").version) == (5, 1)
    clock[0] = NOW + timedelta(days=1)  # nothing is projected: the version in force follows the clock
    assert (catalog.get("poster-webinar").cost, catalog.get("poster-webinar").version) == (8, 2)


def test_the_first_start_imports_the_shipped_catalogue_once_and_serves_it_before_it_is_projected(
        app: Ledger, read_engine: Engine, projector: Projector, tmp_path: Path) -> None:
    catalog = LiveCatalog(read_engine, seed=load_catalog(), importer=lambda: import_new(app, CATALOG_DIR, at=NOW))
    catalog.start()
    try:
        assert len(catalog.all()) == 13  # from the files: nothing is projected yet
        head = app.recorder.max_notification_id()
        assert head == 26  # drafted and published, each template
        projector.catch_up()
        assert catalog.refresh() and len(catalog.all()) == 13
        app.retire_template(template_id="social-tip", by="ops", reason="old", at=NOW)
        projector.catch_up()
        catalog.refresh()
        assert "social-tip" not in {t.id for t in catalog.all()}  # the projection has it now, not the files
    finally:
        catalog.stop()
    again = LiveCatalog(read_engine, seed=load_catalog(), importer=lambda: import_new(app, CATALOG_DIR, at=NOW))
    again.start()
    again.stop()
    assert app.recorder.max_notification_id() == head + 1  # the second start imported nothing




def test_a_kafka_worker_reads_every_version_from_the_read_database(tmp_path: Path) -> None:
    from service.bootstrap import build_handler, build_ledger, build_projector
    from service.settings import MediaSettings, Settings, StoreSettings

    settings = Settings(store=StoreSettings(backend="sqlite", data_dir=tmp_path),
                        media=MediaSettings(data_dir=tmp_path))
    ledger = build_ledger(settings)
    try:
        ledger.draft_template(template_id="diwali-offer", spec=DIWALI, by="asha", reason="festival", at=NOW)
        ledger.publish_template(template_id="diwali-offer", by="asha", reason="approved", at=NOW)
        projector = build_projector(settings, ledger=ledger)
        projector.catch_up()
        handler = build_handler(settings)
        catalog = handler.catalog
        assert isinstance(catalog, LiveCatalog)
        catalog.start()
        try:
            assert catalog.version("diwali-offer", 1).title == "Diwali offer"
            assert catalog.get("poster-webinar").title == "Webinar poster"  # not in the store: from the files
        finally:
            catalog.stop()
            projector.engine.dispose()
    finally:
        ledger.close()


def test_audit_verify_compares_the_templates_table_with_the_replay(app: Ledger, projector: Projector,
                                                                   read_engine: Engine) -> None:
    from sqlalchemy import update

    from projections.audit.diff import ProjectionDiff
    from projections.audit.verify import run_verify

    import_folder(app, CATALOG_DIR, at=NOW)
    app.retire_template(template_id="teaser-trailer", by="ops", reason="old", at=NOW)
    projector.catch_up()
    clean = run_verify(app, projections=ProjectionDiff(read_engine))
    assert clean.ok, clean.text()
    assert clean.compared["templates"] == 13
    with read_engine.begin() as conn:
        conn.execute(update(templates).where(templates.c.template_id == "social-tip").values(status="retired"))
    found = run_verify(app, projections=ProjectionDiff(read_engine))
    assert [f.problem for f in found.findings] == [
        "template social-tip: read table has status/latest version ('retired', 1), replay ('published', 1)"]
