"""Every character a learner types: the form counts what a learner sees (an emoji family is one character), takes
more than a browser's maxlength would, refuses a character no font can print at its field before any credit is
held, and a post with emoji comes back from the gallery."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import available, choose, demo_purchase, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 5 code points, 8 UTF-16 units, one emoji


def test_the_counter_counts_emoji_as_a_learner_sees_them_and_the_field_takes_them_all(
        page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    sign_in_as(page, studio, user_name(request))
    form = choose(page, "Story promo")
    field = form.get_by_label("What you are promoting")
    counter = form.locator(".counter")
    field.fill(f"🎉 Diwali offer {FAMILY}")
    expect(counter).to_have_text("16 of 60 characters")
    field.fill("🔥 Last 3 seats " + FAMILY * 20 + " 👍🏽")  # 171 UTF-16 units, 37 characters
    expect(counter).to_have_text("37 of 60 characters")
    assert field.input_value().endswith(f"{FAMILY} 👍🏽")  # nothing cut at a UTF-16 maxlength
    field.fill("Cafe\u0301 🇮🇳")
    expect(counter).to_have_text("6 of 60 characters")
    field.fill("آج ہی کچھ نیا سیکھیں 2026")  # Urdu is typed right to left
    expect(counter).to_have_text("25 of 60 characters")
    assert field.evaluate("input => input.matches(':dir(rtl)')")


def test_a_character_no_font_prints_is_refused_at_its_field_before_any_credit_is_held_and_emoji_are_made(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(422)
    sign_in_as(page, studio, user_name(request))
    demo_purchase(page)
    form = choose(page, "Story promo")
    field = form.get_by_label("What you are promoting")
    field.fill("Launch \uabc3 today")
    form.get_by_role("button", name=re.compile(r"^Generate")).click()
    summary = form.get_by_role("alert")
    expect(summary).to_contain_text("\uabc3 cannot be printed on this template")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(available(page)).to_have_text("100")
    field.fill(f"🎉 Diwali offer {FAMILY} 30% off")
    form.get_by_role("button", name=re.compile(r"^Generate")).click()
    expect(available(page)).to_have_text("97")
    shot = page.locator("#gallery .shot").first
    expect(shot.locator(".shot-title")).to_contain_text(f"🎉 Diwali offer {FAMILY} 30% off", timeout=60_000)
    expect(shot.locator("img")).to_have_attribute("src", re.compile(r"/media/"))
