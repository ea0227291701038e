"""Trust and privacy in the studio page: refused words told at the field in the learner's language with no
credit held, a safety note on the share page, and an image deleted from the gallery."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import available, demo_purchase, make_poster, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_refused_words_are_told_at_the_field_in_english_and_hindi_and_hold_nothing(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(422)
    sign_in_as(page, studio, user_name(request))
    demo_purchase(page)
    form = make_poster(page, course="F u c k this course")
    field = form.get_by_label("Course title")
    expect(field).to_have_attribute("aria-invalid", "true")
    message = page.locator(f"#{(field.get_attribute('aria-describedby') or '').split()[0]}")
    expect(message).to_have_text("Error: Course title has swear words. Images are shared under your course's "
                                 "name, so please reword it. No credits were used.")
    expect(available(page)).to_have_text("100")

    page.goto(f"{studio.base}/?lang=hi")
    page.get_by_role("button", name="यह टेम्पलेट चुनें: कोर्स लॉन्च पोस्टर").click()
    hindi = page.get_by_role("form", name="कोर्स लॉन्च पोस्टर")
    hindi.get_by_label("कोर्स का नाम").fill("चूतिया कोर्स")
    hindi.get_by_label("शुरू होने की तारीख").fill("3 मार्च")
    hindi.get_by_role("button", name=re.compile("^बनाएँ")).click()
    field = hindi.get_by_label("कोर्स का नाम")
    expect(field).to_have_attribute("aria-invalid", "true")
    message = page.locator(f"#{(field.get_attribute('aria-describedby') or '').split()[0]}")
    expect(message).to_contain_text("कोर्स का नाम में गाली वाले शब्द हैं।")
    expect(message).to_contain_text("कोई क्रेडिट नहीं लगा।")


def test_a_learner_deletes_an_image_and_its_link_stops_and_the_statement_says_image_deleted(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    sign_in_as(page, studio, user_name(request))
    demo_purchase(page)
    form = make_poster(page, course="Ethics in AI")
    expect(form.get_by_role("status")).to_contain_text("Done! Your image is in your gallery.")
    name = "Course launch poster: Ethics in AI"
    page.get_by_role("button", name=f"Share: {name}").click()
    link = page.locator(".shot-link a").first
    expect(link).to_be_visible()
    shared = link.get_attribute("href") or ""
    page_text = httpx.get(shared).text
    assert "Made with AI." in page_text and "एआई से बनी।" in page_text
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete: {name}").click()
    expect(page.locator("#gallery-notice")).to_contain_text("The image is deleted.")
    expect(page.get_by_role("img", name=name)).to_have_count(0)
    assert httpx.get(shared).status_code == 404
    page.reload()
    expect(page.locator("#statement")).to_contain_text("Course launch poster: image deleted (charged)")
    expect(page.locator("#statement")).not_to_contain_text("Ethics in AI")
    expect(available(page)).to_have_text("96")  # spent 5, and the share bonus of 1 stays
