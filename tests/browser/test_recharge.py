"""A learner with no credits recharges from the demo wallet in the dialog the shortfall offers, then makes
the image in one click; the dialog refuses an amount that buys no whole credits, in words."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import available, make_poster, screenshot, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_learner_short_of_credits_recharges_from_the_wallet_and_generates_in_one_click(
        page: Page, studio: Studio, watch: Watch, request: pytest.FixtureRequest) -> None:
    watch.expect_answer(402)
    user = user_name(request)
    sign_in_as(page, studio, user)
    expect(available(page)).to_have_text("0")
    form = make_poster(page)
    status = form.get_by_role("status")
    expect(status).to_contain_text("5 more needed")
    expect(status.get_by_role("link", name="Buy credits")).to_be_visible()
    status.get_by_role("button", name="Recharge with wallet").click()

    dialog = page.get_by_role("dialog", name="Recharge with your wallet")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Demo wallet balance: ₹500.00. Demo only: no money is taken.")
    amount = dialog.get_by_label("Amount (INR)")
    expect(amount).to_be_focused()
    expect(amount).to_have_value("0.50")  # what covers the 5 credits short, at 10 credits a rupee
    expect(dialog).to_contain_text("This gives 5 credits.")

    amount.fill("0.05")  # half a credit: refused before anything is sent
    dialog.get_by_role("button", name="Confirm recharge").click()
    expect(dialog.get_by_text(re.compile(r"Enter an amount from ₹0\.10 to ₹500\.00"))).to_be_visible()
    expect(amount).to_have_attribute("aria-invalid", "true")

    amount.fill("1")
    expect(dialog).to_contain_text("This gives 10 credits.")
    expect(amount).to_have_attribute("aria-invalid", "false")  # put right: the message is gone
    expect(dialog.get_by_text(re.compile("Enter an amount"))).to_be_hidden()
    screenshot(page, "desktop-recharge-en")
    dialog.get_by_role("button", name="Confirm recharge").click()
    expect(dialog.get_by_role("status")).to_contain_text("Done: 10 credits added.")
    expect(available(page)).to_have_text("10")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    expect(status).to_contain_text("10 credits added from your wallet.")
    status.get_by_role("button", name="Generate again").click()
    expect(status).to_contain_text("Done! Your image is in your gallery.")
    expect(available(page)).to_have_text("5")
    expect(page.locator("#statement")).to_contain_text("Redeemed INR 1.00 of wallet balance")
    # 10 to 5 crossed the policy's threshold of 10: told once, in a banner that offers the wallet again.
    banner = page.locator("#alert-banner")
    expect(banner).to_contain_text("Your credits are low: 5 left, below your alert at 10.")
    expect(banner.get_by_role("button", name="Recharge with wallet")).to_be_visible()
    banner.get_by_role("button", name="Dismiss").click()
    expect(banner).to_be_hidden()
    alerts = studio.api("GET", "/v1/wallet/alerts", user).json()["items"]
    assert [a["kind"] for a in alerts] == ["low-balance"]
    wallet = studio.api("GET", "/v1/wallet/recharge", user).json()
    assert wallet["balance_minor"] == 49_900 and wallet["demo"] is True
