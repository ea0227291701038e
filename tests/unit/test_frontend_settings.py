"""STUDIO_CHECKOUT_URL and STUDIO_EMBED_ORIGINS: checked when read, named in one line when wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from api.cli import app
from api.http.frontend import checkout_link, settings_problem
from service.settings.api import ApiSettings

pytestmark = pytest.mark.unit


def test_a_checkout_url_with_the_known_placeholders_is_kept_and_filled_url_encoded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_CHECKOUT_URL", "https://learn.example.com/buy?pack={pack_id}&for={user_id}")
    template = ApiSettings().checkout_url
    assert checkout_link(template, pack_id="starter", user_id="a&b c") == (
        "https://learn.example.com/buy?pack=starter&for=a%26b%20c")


@pytest.mark.parametrize(("url", "says"), [
    ("https://learn.example.com/buy?pack={pack}", "unknown placeholder {pack}"),
    ("https://learn.example.com/buy/{pack_id}/{user}", "unknown placeholder {user}"),
    ("https://learn.example.com/buy/{pack_id!r}", "takes no format"),
    ("https://learn.example.com/buy/{pack_id", "not a URL template"),
    ("learn.example.com/buy/{pack_id}", "absolute http"),
    ("ftp://learn.example.com/{pack_id}", "absolute http"),
])
def test_a_bad_checkout_url_is_refused_naming_the_problem(monkeypatch: pytest.MonkeyPatch, url: str,
                                                          says: str) -> None:
    monkeypatch.setenv("STUDIO_CHECKOUT_URL", url)
    with pytest.raises(ValidationError) as error:
        ApiSettings()
    line = settings_problem(error.value)
    assert line.startswith("STUDIO_CHECKOUT_URL: ") and says in line and "\n" not in line


def test_embed_origins_are_read_from_a_comma_or_space_separated_list_and_normalised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_EMBED_ORIGINS", "https://Learn.Example.com/, http://localhost:3000  https://a.io:443")
    assert ApiSettings().embed_origins == ["https://learn.example.com", "http://localhost:3000", "https://a.io"]
    monkeypatch.delenv("STUDIO_EMBED_ORIGINS")
    assert ApiSettings().embed_origins == []


@pytest.mark.parametrize(("value", "says"), [
    ("*", "'*' is not allowed"),
    ("https://learn.example.com/dashboard", "only the scheme, host and port"),
    ("learn.example.com", "not an origin"),
    ("https://learn.example.com:99999", "invalid port"),
    ("https://ok.example.com,javascript:alert(1)", "not an origin"),
])
def test_a_bad_embed_origin_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch, value: str, says: str) -> None:
    monkeypatch.setenv("STUDIO_EMBED_ORIGINS", value)
    with pytest.raises(ValidationError) as error:
        ApiSettings()
    line = settings_problem(error.value)
    assert line.startswith("STUDIO_EMBED_ORIGINS: ") and says in line


def test_serve_with_a_bad_checkout_url_stops_with_one_line_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_CHECKOUT_URL", "https://learn.example.com/buy/{sku}")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "refusing to start: STUDIO_CHECKOUT_URL: unknown placeholder {sku} in "
        "'https://learn.example.com/buy/{sku}'; the known ones are {pack_id}, {user_id}"]
