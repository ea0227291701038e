"""The console's revenue and liability page for the finance role: a learner buys a pack and spends some of it,
then finance sees the month's deferred revenue, sales and revenue recognised, a chart drawn by the server, and
every day tying out; every control named, AA contrast, nothing fetched from another host."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from api.http.auth import issue_token
from service.settings.api import EMBEDDED_JWT_SECRET
from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch, open_context, user_name
from tests.browser.steps import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Ledgers 101", "date": "1 March"}}


def finance_token() -> str:
    return issue_token(EMBEDDED_JWT_SECRET, "meera", issuer="studio-ledger", audience="studio-ledger",
                       roles=("finance",))


def buy_and_spend(studio: Studio, user: str) -> None:
    assert studio.api("POST", "/v1/dev/purchase", user, json={"pack_id": "starter"}).status_code == 200
    generation_id = studio.api("POST", "/v1/generations", user, json=POSTER).json()["generation_id"]
    for _ in range(300):
        if studio.api("GET", f"/v1/generations/{generation_id}", user).json()["status"] == "completed":
            return
        time.sleep(0.1)
    raise AssertionError("the poster was not rendered in time")


def test_finance_sees_the_months_revenue_liability_and_a_chart_that_tie_out(
        page: Page, studio: Studio, watch: Watch, request: pytest.FixtureRequest) -> None:
    buy_and_spend(studio, user_name(request))
    now = datetime.now(UTC)
    month = now.strftime("%Y-%m")
    days = calendar.monthrange(now.year, now.month)[1]
    first, after = f"{month}-01", (f"{now.year + 1}-01-01" if now.month == 12 else f"{now.year}-{now.month + 1:02d}-01")
    report = httpx.get(f"{studio.base}/v1/admin/finance/revenue", params={"from": first, "to": after},
                       headers={"Authorization": f"Bearer {finance_token()}"}, timeout=30).json()
    inr = next(r for r in report["months"] if r["currency"] == "INR")
    assert inr["sales"] > 0 and inr["recognised"] > 0

    page.goto(f"{studio.base}/admin#token={finance_token()}")
    expect(page.get_by_role("heading", name="Revenue and liability", level=1)).to_be_visible()
    expect(page.get_by_label("Month")).to_have_value(month)
    expect(page.get_by_label("Currency")).to_have_value("INR")
    expect(page.locator("#revenue-verdict")).to_contain_text("ties out to the minor unit, as of ledger position")
    for term, figure in (("Sales", "sales"), ("Revenue recognised", "recognised"),
                         ("Closing deferred revenue", "closing_deferred")):
        expect(page.locator(f'#revenue-figures dt:text-is("{term}") + dd')).to_have_text(f"₹{inr[figure] / 100:,.2f}")
    chart = page.get_by_role("img", name="INR: revenue recognised and breakage each day")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar-recognised").count() == days
    table = page.get_by_role("table", name="Each day in INR")
    expect(table.locator("tbody tr")).to_have_count(days)
    expect(table.get_by_role("cell", name="Ties out", exact=True)).to_have_count(days)
    assert unnamed_controls(page) == [] and low_contrast_text(page) == []
    page.set_viewport_size({"width": 1280, "height": 1240})  # the figures and the whole chart
    screenshot(page, "console-finance")

    page.get_by_label("Month").fill("2020-02")  # a month before any sale: nothing to chart
    page.get_by_role("button", name="Show the month").click()
    expect(page.locator("#revenue-days-caption")).to_have_text("No paid credits in this month or before it.")
    expect(page.get_by_label("Currency")).to_be_disabled()
    assert watch.elsewhere == []


def test_the_days_are_the_ledgers_days_west_of_utc_too(browser: Browser, studio: Studio,
                                                       request: pytest.FixtureRequest) -> None:
    # The ledger's days are UTC days: in Los Angeles the 1st must still read the 1st, not the evening before.
    assert studio.api("POST", "/v1/dev/purchase", user_name(request), json={"pack_id": "starter"}).status_code == 200
    now = datetime.now(UTC)
    last = calendar.monthrange(now.year, now.month)[1]
    context, watch = open_context(browser, studio, timezone_id="America/Los_Angeles")
    try:
        page = context.new_page()
        page.goto(f"{studio.base}/admin#token={finance_token()}")
        page.get_by_label("Month").fill(now.strftime("%Y-%m"))
        page.get_by_role("button", name="Show the month").click()
        expect(page.locator("#revenue-rows th").first).to_have_text(f"1 {now:%B %Y}")
        expect(page.locator("#revenue-rows th").last).to_have_text(f"{last} {now:%B %Y}")
    finally:
        context.close()
    assert watch.errors == [] and watch.elsewhere == []
