"""The page's quality bars: strict CSP without inline script, hashed cached files, a small first load,
keyboard-only use, accessible names and WCAG AA contrast."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import available, demo_purchase, make_poster, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


class Inline(HTMLParser):
    """Collects what a strict CSP would refuse: inline scripts, style attributes and elements, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and not named.get("src") and named.get("type") != "application/json":
            self.refused.append("inline <script>")
        if tag == "style":
            self.refused.append("<style> element")
        self.refused += [f"{tag} {name}=" for name, _ in attrs if name == "style" or name.startswith("on")]
        for key in ("src", "href"):
            if tag in ("script", "link") and named.get(key):
                self.assets.append(named[key] or "")


def test_the_page_has_a_strict_content_security_policy_and_no_inline_script_or_style(studio: Studio) -> None:
    answer = httpx.get(studio.base + "/")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe" not in policy
    assert f"frame-ancestors 'self' {studio.embed_origin}" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    parser = Inline()
    parser.feed(answer.text)
    assert parser.refused == []


def test_static_files_carry_a_content_hash_and_are_cached_for_a_year(studio: Studio) -> None:
    parser = Inline()
    parser.feed(httpx.get(studio.base + "/").text)
    assert parser.assets
    for path in parser.assets:
        assert re.fullmatch(r"/static/[\w-]+\.[0-9a-f]{12}\.(js|css|svg)", path), path
        answer = httpx.get(studio.base + path)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        again = httpx.get(studio.base + path, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
    # Modules import each other by hashed name too, so no stale module survives a change.
    main = next(p for p in parser.assets if "/main." in p)
    imports = re.findall(r"from '\./([^']+)'", httpx.get(studio.base + main).text)
    assert imports and all(re.fullmatch(r"[\w-]+\.[0-9a-f]{12}\.js", name) for name in imports), imports
    assert httpx.get(studio.base + "/static/main.js").status_code == 404


def test_the_first_load_is_under_500_kb_without_images(page: Page, studio: Studio,
                                                       request: pytest.FixtureRequest) -> None:
    page.goto(f"{studio.base}/#token={studio.token(user_name(request))}")
    expect(available(page)).to_have_text("0")
    page.wait_for_load_state("networkidle")
    loaded = page.evaluate("""() => {
        const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
        return entries.filter((e) => e.initiatorType !== 'img' && !/\\.(png|jpe?g|webp)(\\?|$)/.test(e.name))
                      .reduce((sum, e) => sum + e.decodedBodySize, 0);
    }""")
    assert 10_000 < loaded < 500_000, loaded


def test_a_learner_can_do_everything_with_the_keyboard_alone(page: Page, studio: Studio,
                                                            request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    assert studio.api("POST", "/v1/dev/purchase", user, json={"pack_id": "starter"}).status_code == 200
    page.goto(f"{studio.base}/")

    def tab_to(locator: object, limit: int = 120) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(el) => el === document.activeElement", locator.element_handle()):  # type: ignore[attr-defined]
                return
        raise AssertionError(f"Tab never reached {locator}")

    tab_to(page.get_by_label("Sign in as"))
    page.keyboard.type(user)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    tab_to(page.get_by_role("button", name="Use this template: Course launch poster"))
    page.keyboard.press("Enter")
    form = page.get_by_role("form", name="Course launch poster")
    expect(form.get_by_label("Course title")).to_be_focused()
    page.keyboard.type("Data Science Bootcamp")
    page.keyboard.press("Tab")
    page.keyboard.type("3 March")
    page.keyboard.press("Tab")  # the style radios: arrows choose
    page.keyboard.press("ArrowRight")
    expect(form.get_by_role("radio", name="retro")).to_be_checked()
    tab_to(form.get_by_role("button", name=re.compile("^Generate")))
    page.keyboard.press("Enter")
    expect(form.get_by_role("status")).to_contain_text("Done! Your image is in your gallery.")
    expect(page.get_by_role("img", name="Course launch poster: Data Science Bootcamp")).to_be_visible()


def test_every_control_has_an_accessible_name_and_text_meets_wcag_aa_contrast(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(422)
    page.goto(f"{studio.base}/")
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []
    sign_in_as(page, studio, user_name(request))
    demo_purchase(page)
    form = make_poster(page)
    expect(form.get_by_role("status")).to_contain_text("Done! Your image is in your gallery.")
    page.get_by_role("button", name=re.compile("^Share: ")).first.click()
    expect(page.locator("#gallery-notice")).to_contain_text("Link copied")
    make_poster(page, course=" ")
    expect(form.get_by_role("alert")).to_be_visible()
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []
