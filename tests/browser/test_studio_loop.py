"""The whole loop on the embedded default: sign in, buy demo credits, make a poster, share it, unshare it."""

from __future__ import annotations

import html
import re
import time

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import available, choose, demo_purchase, make_poster, screenshot, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_learner_buys_demo_credits_makes_a_poster_shares_it_and_stops_sharing(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    sign_in_as(page, studio, user)
    expect(available(page)).to_have_text("0")
    expect(page.get_by_text("Demo only: no money is taken")).to_be_visible()
    demo_purchase(page)
    expect(available(page)).to_have_text("100")
    expect(page.locator("#statement")).to_contain_text("+100")  # the line in words comes from the API

    form = choose(page, "Course launch poster")
    form.get_by_label("Course title").fill("Data Science Bootcamp")
    expect(form.get_by_text("21 of 60 characters")).to_be_visible()
    form.get_by_label("Start date").fill("3 March")
    form.get_by_role("radio", name="retro").check()
    screenshot(page, "desktop-form-en")
    form.get_by_role("button", name="Generate · 5 credits").click()
    expect(form.get_by_role("status")).to_contain_text(re.compile("Queued|Rendering"))
    expect(form.get_by_role("status")).to_contain_text("Done! Your image is in your gallery.")

    image = page.get_by_role("img", name="Course launch poster: Data Science Bootcamp")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
    expect(available(page)).to_have_text("95")
    # The hold took the 5 from the balance; its capture says they were spent, and takes nothing more.
    capture = page.locator("#statement > li", has_text="(charged)")
    expect(capture.locator(".change")).to_have_text("5 spent")
    expect(capture.locator(".when")).to_contain_text("balance 95")

    page.get_by_role("button", name="Share: Course launch poster: Data Science Bootcamp").click()
    notice = page.locator("#gallery-notice")
    expect(notice).to_contain_text("Link copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(studio.base)}/s/\S+", link), link
    # Pasted at once into a chat, whose service fetches the preview straight away: the page and its
    # Open Graph image answer whether or not the projector has applied the share yet (no waiting here).
    preview = httpx.get(link)
    assert preview.status_code == 200, preview.text
    og_image = re.search(r'<meta property="og:image" content="([^"]+)">', preview.text)
    assert og_image is not None, preview.text
    assert og_image[1] == f"{link}/preview.jpg"  # the 1200x630 preview, made from the finished JPEG on this request
    assert httpx.get(html.unescape(og_image[1])).headers["content-type"] == "image/jpeg"
    expect(page.get_by_role("link", name=link)).to_be_visible()
    expect(available(page)).to_have_text("96")  # the share bonus, which lapses in 30 days
    expect(page.locator("#expiry")).to_contain_text(re.compile(r"^1 credit expires on \d+ \w+ \d{4}$"))
    download = page.get_by_role("link", name="Download: Course launch poster: Data Science Bootcamp")
    assert httpx.get(studio.base + (download.get_attribute("href") or "")).headers["content-type"] == "image/jpeg"
    page.get_by_role("heading", name="Your gallery").scroll_into_view_if_needed()
    screenshot(page, "desktop-gallery-en")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "desktop-studio-en")

    page.get_by_role("button", name="Stop sharing: Course launch poster: Data Science Bootcamp").click()
    expect(notice).to_contain_text("No longer shared")
    expect(page.get_by_role("link", name=link)).to_be_hidden()
    assert httpx.get(link).status_code == 404  # at once too: the link is read as of the ledger's head


def test_without_enough_credits_the_learner_is_told_the_shortfall_and_offered_credits(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(402)
    sign_in_as(page, studio, user_name(request))
    form = make_poster(page)
    status = form.get_by_role("status")
    expect(status).to_contain_text("You need 5 credits for this and have 0: 5 more needed.")
    screenshot(page, "desktop-insufficient-en")
    status.get_by_role("link", name="Buy credits").click()
    expect(page).to_have_url(re.compile("#buy$"))
    expect(page.get_by_role("button", name="Demo purchase: Starter")).to_be_in_viewport()


def test_a_field_the_api_refuses_shows_its_error_at_the_field_and_in_the_summary(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(422)
    sign_in_as(page, studio, user_name(request))
    form = make_poster(page, course="   ")
    summary = form.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Enter the course title")).to_be_visible()
    field = form.get_by_label("Course title")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby") or ""
    message = page.locator(f"#{described.split()[0]}")
    expect(message).to_have_text("Error: Enter the course title")
    # The message sits above the input, as GOV.UK's pattern has it.
    assert message.bounding_box()["y"] < field.bounding_box()["y"]  # type: ignore[index]
    screenshot(page, "desktop-field-error-en")
    summary.get_by_role("link", name="Enter the course title").click()
    expect(field).to_be_focused()


def test_the_gallery_loads_older_images_as_the_learner_scrolls(
        context: tuple[BrowserContext, Watch], studio: Studio, request: pytest.FixtureRequest) -> None:
    user = user_name(request)
    assert studio.api("POST", "/v1/dev/purchase", user, json={"pack_id": "creator"}).status_code == 200
    for i in range(13):
        answer = studio.api("POST", "/v1/generations", user, json={
            "template_id": "social-tip", "variables": {"tip": f"Tip number {i}", "subject": "SQL"}})
        assert answer.status_code == 202, answer.text
    for _ in range(150):
        if len(studio.api("GET", "/v1/gallery?limit=20", user).json()["items"]) == 13:
            break
        time.sleep(0.2)
    page = context[0].new_page()
    page.goto(f"{studio.base}/#token={studio.token(user)}")
    expect(page.get_by_role("img", name="Portrait tip post: Tip number 12")).to_be_attached()
    expect(page.locator("#gallery-list > li")).to_have_count(12)
    page.get_by_role("heading", name="Your gallery").scroll_into_view_if_needed()
    page.mouse.wheel(0, 6000)
    expect(page.locator("#gallery-list > li")).to_have_count(13)
    expect(page.get_by_role("img", name="Portrait tip post: Tip number 0")).to_be_attached()
    # The statement is paginated too: a purchase, then a hold and a capture per image.
    statement = page.locator("#statement > li")
    expect(statement).to_have_count(10)
    page.get_by_role("button", name="Show older entries").click()
    expect(statement).to_have_count(20)
