"""A learner sets their own low-balance alert, daily spending limit and auto top-up on the studio page;
each mistake is named at its field and in a summary linking to it, whether the page or the API finds it,
and what is saved is what the page shows again. In Hindi, from the same catalogue."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import screenshot, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_learner_sets_their_limits_and_auto_top_up_with_each_mistake_named_at_its_field(
        page: Page, studio: Studio, watch: Watch, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(422)
    sign_in_as(page, studio, user_name(request))
    section = page.get_by_role("region", name="Your limits and alerts")
    low = section.get_by_label("Tell me when my credits fall below")
    cap = section.get_by_label("Daily spending limit, in credits")
    expect(low).to_have_value("10")  # the policy's alert until the learner sets their own
    expect(cap).to_have_value("")
    expect(section).to_contain_text("Leave it empty for no limit. At most 10,000.")

    low.fill("a few")
    cap.fill("20000")
    section.get_by_label("Pack to buy").select_option(label="Starter (100 credits)")
    section.get_by_role("button", name="Save settings").click()

    summary = section.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text([
        "Enter a whole number of credits, like 20", "Enter a daily limit of 10,000 credits or fewer",
        "Enter the number of credits to buy below", "Enter the most to spend in a month, like 500.00"])
    expect(low).to_have_attribute("aria-invalid", "true")
    expect(low).to_have_accessible_description("Error: Enter a whole number of credits, like 20 "
                                               "A number of credits. Leave it empty for the studio's usual alert.")
    summary.get_by_role("link", name="Enter the number of credits to buy below").click()
    expect(section.get_by_label("Buy when my credits fall below")).to_be_focused()

    low.fill("15")
    cap.fill("40")
    section.get_by_label("Buy when my credits fall below").fill("20")
    monthly = section.get_by_label("Most to spend on it in a month (INR)")
    monthly.fill("5.00")  # less than one Starter pack: only the API knows the pack's price
    section.get_by_role("button", name="Save settings").click()
    expect(summary).to_be_focused()
    expect(monthly).to_have_attribute("aria-invalid", "true")
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(summary.get_by_role("link")).to_contain_text("monthly cap")
    expect(low).not_to_have_attribute("aria-invalid", "true")

    monthly.fill("50.00")
    section.get_by_role("button", name="Save settings").click()
    expect(section.get_by_role("status")).to_have_text("Your settings are saved.")
    expect(summary).to_be_hidden()
    screenshot(page, "desktop-wallet-settings-en")

    page.reload()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(low).to_have_value("15")
    expect(cap).to_have_value("40")
    expect(section.get_by_label("Pack to buy")).to_have_value("starter")
    expect(section.get_by_label("Buy when my credits fall below")).to_have_value("20")
    expect(monthly).to_have_value("50.00")

    section.get_by_label("Pack to buy").select_option(label="Off: no auto top-up")
    cap.fill("")
    section.get_by_role("button", name="Save settings").click()
    expect(section.get_by_role("status")).to_have_text("Your settings are saved.")
    expect(section.get_by_label("Buy when my credits fall below")).to_have_value("")
    expect(cap).to_have_value("")


def test_the_settings_form_reads_in_hindi(page: Page, studio: Studio, request: pytest.FixtureRequest) -> None:
    page.goto(f"{studio.base}/?lang=hi#token={studio.token(user_name(request))}")
    section = page.get_by_role("region", name="आपकी सीमाएँ और सूचनाएँ")
    expect(section.get_by_label("रोज़ खर्च की सीमा, क्रेडिट में")).to_have_value("")
    section.get_by_label("रोज़ खर्च की सीमा, क्रेडिट में").fill("बीस")
    section.get_by_role("button", name="सेटिंग सहेजें").click()
    expect(section.get_by_role("alert").get_by_role("link")).to_have_text(["क्रेडिट की पूरी संख्या लिखें, जैसे 20"])
