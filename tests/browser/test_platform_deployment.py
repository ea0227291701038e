"""Outside the embedded default: no demo sign-in or purchase; packs go to the platform's checkout."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Studio, open_context, serving, user_name

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
CHECKOUT = "https://pay.example.com/checkout?pack={pack_id}&learner={user_id}"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """The service deployed beside the platform: Kafka dispatch (no broker needed to serve the page), own secrets."""
    with serving(tmp_path_factory.mktemp("platform"), STUDIO_DISPATCH="kafka",
                 STUDIO_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9", STUDIO_RUN_SWEEPER="false",
                 STUDIO_JWT_SECRET="a-platform-secret-that-is-long-enough-for-hs256",
                 STUDIO_WEBHOOK_SECRET="a-platform-webhook-secret-long-enough",
                 STUDIO_MEDIA_SIGNING_KEY="a-platform-media-signing-key-long-enough",
                 STUDIO_CHECKOUT_URL=CHECKOUT) as running:
        yield running


@pytest.fixture
def page(browser: Browser, platform: Studio) -> Iterator[Page]:
    """A tab on the platform's deployment; at the end no console error and no request to another host."""
    context, watch = open_context(browser, platform)
    yield context.new_page()
    context.close()
    assert watch.errors == [] and watch.elsewhere == [], (watch.errors, watch.elsewhere)


def test_the_platform_signs_the_learner_in_and_packs_open_its_checkout(
        page: Page, platform: Studio, request: pytest.FixtureRequest) -> None:
    page.goto(f"{platform.base}/")
    expect(page.get_by_text("Open the studio from your course dashboard to sign in.")).to_be_visible()
    expect(page.get_by_label("Sign in as")).to_have_count(0)
    user = f"{user_name(request)} k"  # a space, to see it URL-encoded in the checkout link
    page.goto(f"{platform.base}/#token={platform.token(user)}")
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    expect(page.get_by_role("button", name="Demo purchase: Starter")).to_have_count(0)
    expect(page.get_by_text("Demo only")).to_have_count(0)
    buy = page.get_by_role("link", name="Buy Creator")
    link = urlsplit(buy.get_attribute("href") or "")
    assert (link.scheme, link.netloc, link.path) == ("https", "pay.example.com", "/checkout")
    assert parse_qs(link.query) == {"pack": ["creator"], "learner": [user]}
    assert buy.get_attribute("target") == "_top"
