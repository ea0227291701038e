"""The studio page's building blocks: the catalogue, the language choice, hashed assets, framing origins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.http.web.assets import Assets
from api.http.web.headers import content_security_policy
from api.http.web.i18n import CatalogueError, choose_language, load_catalogue

pytestmark = pytest.mark.unit
WEB = Path(__file__).parents[2] / "api" / "http" / "web"


def test_every_message_of_the_catalogue_has_english_and_hindi() -> None:
    messages = load_catalogue()
    assert set(messages) == {"en", "hi"}
    assert messages["en"].keys() == messages["hi"].keys()


def test_a_message_without_its_hindi_stops_the_catalogue_naming_the_message(tmp_path: Path) -> None:
    path = tmp_path / "messages.toml"
    path.write_text('[title]\nen = "Studio"\nhi = "स्टूडियो"\n[generate]\nen = "Generate"\n')
    with pytest.raises(CatalogueError, match="'generate' needs exactly en, hi"):
        load_catalogue(path)


def test_every_message_the_page_and_its_scripts_use_is_in_the_catalogue() -> None:
    known = load_catalogue()["en"].keys()
    used = {key for page in ("studio.html", "admin.html")
            for key in re.findall(r"""\bt\(\s*["']([a-z_]+)["']\s*[,)]""", (WEB / "templates" / page).read_text())}
    for script in (WEB / "static").glob("*.js"):
        used |= set(re.findall(r"""\bt\(\s*'([a-z_]+)'\s*[,)]""", script.read_text()))
    assert len(used) > 40
    assert sorted(used - known) == []


@pytest.mark.parametrize(("query", "header", "chosen"), [
    ("hi", "en-GB,en;q=0.9", "hi"),
    (None, "hi-IN,hi;q=0.9,en;q=0.8", "hi"),
    (None, "fr-FR,hi;q=0.5,en;q=0.7", "en"),
    (None, "ta-IN,hi;q=0.8", "hi"),
    ("de", "de-DE", "en"),
    (None, None, "en"),
    (None, "hi;q=nonsense,en", "en"),
])
def test_the_language_is_the_address_then_the_browser_then_english(query: str | None, header: str | None,
                                                                    chosen: str) -> None:
    assert choose_language(query, header) == chosen


def test_assets_are_named_by_content_and_imports_follow_the_imported_modules_names(tmp_path: Path) -> None:
    (tmp_path / "main.js").write_text("import { a } from './a.js';\nexport const m = a;\n")
    (tmp_path / "a.js").write_text("export const a = 1;\n")
    before = Assets(tmp_path)
    main = before.get(before.url("main.js").removeprefix("/static/"))
    assert main is not None and before.url("a.js").removeprefix("/static/") in main.body.decode()
    (tmp_path / "a.js").write_text("export const a = 2;\n")
    after = Assets(tmp_path)
    assert after.url("main.js") != before.url("main.js")  # main.js itself did not change: its import did
    assert re.fullmatch(r"/static/main\.[0-9a-f]{12}\.js", after.url("main.js"))


def test_modules_that_import_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("import './b.js';\nimport { b } from './b.js';\n")
    (tmp_path / "b.js").write_text("import { a } from './a.js';\n")
    with pytest.raises(ValueError, match="cycle"):
        Assets(tmp_path)


def test_only_the_embedding_origins_may_frame_the_page() -> None:
    policy = content_security_policy(("https://learn.example.com",))
    assert "frame-ancestors 'self' https://learn.example.com" in policy
    assert "unsafe" not in policy
