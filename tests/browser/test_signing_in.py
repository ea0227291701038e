"""Signing in: a token in the address, a token from the embedding page, an expired token, the demo form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import screenshot
from tests.support.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

PARENT = """<!doctype html><html><head><title>Course dashboard</title></head><body>
<h1>Course dashboard</h1><iframe title="Creative Studio" src="{studio}/" width="1000" height="700"></iframe>
<script>
addEventListener('message', (event) => {{
  if (event.origin === '{studio}' && event.data.type === 'studio:ready')
    event.source.postMessage({{type: 'studio:token', token: '{token}'}}, '{studio}');
}});
</script></body></html>"""


def serve_parent(context: BrowserContext, origin: str, html: str) -> None:
    """A platform page on ``origin`` (answered by the test, never by the network; on localhost, as
    Chromium keeps public pages from framing loopback ones)."""
    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    context.route(f"{origin}/**", fulfil)


def test_a_token_in_the_address_signs_the_learner_in_and_leaves_the_address(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user)}")
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    assert page.url == f"{studio.base}/?lang=en"
    assert page.evaluate("sessionStorage.getItem('studio.token')").count(".") == 2
    page.reload()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Sign in as")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('studio.token')") is None


def test_an_embedding_page_on_an_allowed_origin_hands_the_token_over_by_post_message(
        context: tuple[BrowserContext, Watch], studio: Studio, request: pytest.FixtureRequest) -> None:
    browser_context, watch = context
    watch.elsewhere_allowed = (studio.embed_origin,)
    user = user_name(request)
    serve_parent(browser_context, studio.embed_origin, PARENT.format(studio=studio.base, token=studio.token(user)))
    page = browser_context.new_page()
    page.goto(f"{studio.embed_origin}/dashboard")
    frame = page.frame_locator("iframe[title='Creative Studio']")
    expect(frame.get_by_text(f"Signed in as {user}")).to_be_visible()


def test_an_embedding_page_on_another_origin_can_neither_frame_the_studio_nor_sign_anyone_in(
        context: tuple[BrowserContext, Watch], studio: Studio, request: pytest.FixtureRequest) -> None:
    browser_context, watch = context
    stranger = f"http://localhost:{free_port()}"  # played by the test: nothing listens there
    watch.elsewhere_allowed = (stranger,)
    serve_parent(browser_context, stranger, PARENT.format(studio=studio.base, token=studio.token(user_name(request))))
    page = browser_context.new_page()
    page.goto(f"{stranger}/dashboard")
    page.wait_for_timeout(1000)
    frame = page.frame_locator("iframe[title='Creative Studio']")
    expect(frame.get_by_text("Signed in as")).to_have_count(0)
    # Chromium reports the refused frame on the embedding page's console: that is the policy working.
    assert all("frame-ancestors" in error or "Refused to frame" in error for error in watch.errors), watch.errors
    watch.errors.clear()


def test_an_expired_token_says_the_session_has_ended_and_offers_a_way_back(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    page.goto(f"{studio.base}/#token={studio.token(user, ttl=timedelta(minutes=-5))}")
    expect(page.get_by_role("heading", name="Your session has ended")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_be_hidden()
    screenshot(page, "desktop-session-ended-en")
    page.get_by_role("button", name="Sign in again").click()
    page.get_by_label("Sign in as").fill(user)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()


def test_a_token_the_api_refuses_ends_the_session(page: Page, watch: Watch, studio: Studio) -> None:
    watch.expect_answer(401)
    forged = studio.token("mallory").rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    page.goto(f"{studio.base}/#token={forged}")
    expect(page.get_by_role("heading", name="Your session has ended")).to_be_visible()


def test_the_demo_sign_in_form_names_a_missing_user_at_its_field(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.base}/")
    screenshot(page, "desktop-sign-in-en")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a user name to sign in as")
    expect(page.get_by_label("Sign in as")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_title(re.compile("Creative Studio"))


def signed_in_user(page: Page) -> str:
    """The user of the token the page keeps."""
    return str(page.evaluate("JSON.parse(atob(sessionStorage.getItem('studio.token').split('.')[1]"
                             ".replace(/-/g, '+').replace(/_/g, '/'))).sub"))


def test_a_link_for_another_learner_asks_before_switching_and_cancelling_keeps_the_learner(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    other = f"{user}-x"
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user)}")
    expect(page.get_by_text(f"Signed in as {user}", exact=True)).to_be_visible()
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user)}")  # the same learner's fresh token: no question
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.goto(f"{studio.base}/?lang=en#token={studio.token(other)}")  # a link naming someone else
    dialog = page.get_by_role("dialog", name="Switch account?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"This link signs in as {other}, but you are signed in as {user}.")
    stay = dialog.get_by_role("button", name=f"Stay signed in as {user}")
    expect(stay).to_be_focused()
    assert unnamed_controls(page) == [] and low_contrast_text(page) == []
    stay.click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"Signed in as {user}", exact=True)).to_be_visible()
    assert signed_in_user(page) == user and page.url == f"{studio.base}/?lang=en"
    page.goto(f"{studio.base}/?lang=en#token={studio.token(other)}")
    dialog.get_by_role("button", name=f"Switch to {other}").click()
    expect(page.get_by_text(f"Signed in as {other}", exact=True)).to_be_visible()
    assert signed_in_user(page) == other


def test_opening_the_studio_from_a_link_for_another_learner_asks_in_hindi_and_escape_keeps_the_learner(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    other = f"{user}-x"
    page.goto(f"{studio.base}/?lang=hi#token={studio.token(user)}")
    expect(page.get_by_text(f"{user} के रूप में साइन इन", exact=True)).to_be_visible()
    page.goto(f"{studio.base}/?lang=hi&from=mail#token={studio.token(other)}")  # a new load, not a hash change
    dialog = page.get_by_role("dialog", name="खाता बदलें?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name=f"{other} पर जाएँ")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"{user} के रूप में साइन इन", exact=True)).to_be_visible()
    assert signed_in_user(page) == user


def test_a_stale_link_for_another_learner_changes_nothing(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user)}")
    expect(page.get_by_text(f"Signed in as {user}", exact=True)).to_be_visible()
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user + '-x', ttl=timedelta(minutes=-5))}")
    page.wait_for_timeout(300)
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text(f"Signed in as {user}", exact=True)).to_be_visible()
    assert signed_in_user(page) == user


def hold_first_wallet_read(page: Page) -> list[Route]:
    """The page's first read of the wallet waits until the test continues it; later reads go through."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if held or route.request.method != "GET":
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r".*/v1/wallet(\?.*)?$"), hold)
    return held


def until_held(page: Page, held: list[Route]) -> Route:
    """The held request, once the page has sent it."""
    for _ in range(200):
        if held:
            return held[0]
        page.wait_for_timeout(50)
    raise AssertionError("the page never read the wallet")


def test_an_answer_that_arrives_after_signing_out_sends_nothing_more(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    # Each wallet answer is followed by the statement and the alerts: signed out, those would go without a
    # token and earn 401s (the fixture fails on the console's error lines).
    user = user_name(request)
    held = hold_first_wallet_read(page)
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user)}")
    wallet = until_held(page, held)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Sign in as")).to_be_visible()
    sent: list[str] = []  # the API client's requests (a public template preview <img> loading late is not one)
    page.on("request", lambda made: sent.append(made.url)
            if "/v1/" in made.url and made.resource_type in ("fetch", "xhr") else None)
    wallet.continue_()
    assert wallet.request.response() is not None
    page.wait_for_timeout(500)
    assert sent == [], sent


def test_an_answer_for_the_learner_who_signed_out_never_fills_the_next_learners_page(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user, other = user_name(request), f"{user_name(request)}-next"
    assert studio.api("POST", "/v1/dev/purchase", user, json={"pack_id": "starter"}).status_code == 200
    held = hold_first_wallet_read(page)
    page.goto(f"{studio.base}/?lang=en#token={studio.token(user)}")
    wallet = until_held(page, held)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Sign in as").fill(other)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(f"Signed in as {other}", exact=True)).to_be_visible()
    expect(page.locator("#available")).to_have_text("0")
    wallet.continue_()  # the first learner's 100 credits arrive now
    assert wallet.request.response() is not None
    page.wait_for_timeout(500)
    expect(page.locator("#available")).to_have_text("0")
    expect(page.locator("#balance-chip")).not_to_contain_text("100")
