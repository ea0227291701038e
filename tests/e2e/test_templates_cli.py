"""`studio-ledger templates import DIR | export DIR`: the shipped catalogue goes into the ledger and comes
back out byte for byte; an unchanged file is no new version, a changed one is the next version, a bad
one is refused in one line before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app, startup_problem
from media.templates import CATALOG_DIR

pytestmark = pytest.mark.e2e
SHIPPED = sorted(CATALOG_DIR.glob("*.toml"))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STUDIO_STORE", "sqlite")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def run(*args: str) -> str:
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.output


def test_the_shipped_catalogue_round_trips_through_import_and_export_unchanged(store: Path) -> None:
    imported = run("templates", "import", str(CATALOG_DIR))
    assert imported.count("version 1") == len(SHIPPED) == 13
    run("projections", "rebuild")
    run("templates", "export", str(store / "out"))
    exported = sorted((store / "out").glob("*.toml"))
    assert [p.name for p in exported] == [p.name for p in SHIPPED]
    assert {p.name: p.read_text() for p in exported} == {p.name: p.read_text() for p in SHIPPED}
    again = run("templates", "import", str(store / "out"))
    assert again.count("unchanged") == 13 and "published" not in again


def test_a_changed_file_is_the_next_version_and_exports_as_such(store: Path) -> None:
    folder = store / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    run("templates", "import", str(folder))
    webinar = folder / "poster-webinar.toml"
    webinar.write_text(webinar.read_text().replace('cost = 5', 'cost = 7'))
    changed = run("templates", "import", str(folder))
    assert "published poster-webinar version 2" in changed and changed.count("unchanged") == 12
    run("templates", "export", str(store / "out"), "--id", "poster-webinar")
    assert (store / "out" / "poster-webinar.toml").read_text() == webinar.read_text().replace(
        "version = 1", "version = 2")


def test_a_bad_file_is_refused_in_one_line_naming_it_and_the_field_before_anything_is_written(store: Path) -> None:
    folder = store / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    tip = folder / "social-tip.toml"
    tip.write_text(tip.read_text().replace("cost = ", "cost = -"))
    done = CliRunner().invoke(app, ["templates", "import", str(folder)])
    assert done.exception is not None
    line = startup_problem(done.exception)  # what the command line prints before exiting 2
    assert line is not None and line.endswith("social-tip.toml: cost: Input should be greater than 0")
    assert run("templates", "import", str(CATALOG_DIR)).count("version 1") == 13  # nothing was written before


def test_a_file_a_learner_would_trip_on_is_refused_naming_the_file_and_the_field(store: Path) -> None:
    folder = store / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    webinar = folder / "poster-webinar.toml"
    webinar.write_text(webinar.read_text().replace('text = "Live webinar"',
                                                   'text = "' + "An extraordinarily long kicker " * 4 + '"'))
    done = CliRunner().invoke(app, ["templates", "import", str(folder)])
    assert done.exception is not None
    line = startup_problem(done.exception)
    assert line is not None and "poster-webinar.toml: layout.slots.0.text: " in line and "does not fit" in line
    assert run("templates", "import", str(CATALOG_DIR)).count("version 1") == 13  # nothing was written before


def test_audit_verify_replays_the_imported_templates_and_the_journal_shows_who_changed_them(store: Path) -> None:
    run("templates", "import", str(CATALOG_DIR))
    run("projections", "rebuild")
    verified = CliRunner().invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK: 26 events")
    journal = run("audit", "journal", "--format", "csv")
    published = [line for line in journal.splitlines() if ",TemplatePublished," in line]
    assert len(published) == 13
    assert any("template:poster-webinar,0,0,,TemplatePublished v1 by studio-ledger templates import: imported "
               "from poster-webinar.toml" in line for line in published)
