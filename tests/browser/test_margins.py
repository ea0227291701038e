"""The console's margins for the finance role: a month picked by its days, the server's chart of revenue and
provider cost per template and the table of margins (the hand-computed month of tests/unit/test_margins.py),
the costs nobody recorded called out; a backwards range refused beside its field; every control named, AA
contrast, nothing fetched from another host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from api.http.auth import issue_token
from ledger import Ledger
from service.settings.api import EMBEDDED_JWT_SECRET
from service.settings.store import StoreSettings
from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch, serving
from tests.browser.steps import screenshot
from tests.support.margins_month import RATES, margins_month

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """`studio-ledger serve` on a ledger that holds the hand-computed month (this module's own studio: the
    profiles of its tests watch this one)."""
    folder = tmp_path_factory.mktemp("margins")
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=folder / "data").event_store_env())
    margins_month(ledger)
    ledger.close()
    with serving(folder, STUDIO_FINANCE_USD_RATES=RATES) as running:
        yield running


def token(*roles: str) -> str:
    return issue_token(EMBEDDED_JWT_SECRET, "fiona", issuer="studio-ledger", audience="studio-ledger", roles=roles)


def open_margins(page: Page, studio: Studio) -> None:
    """Sign in with a finance token and open the Margins section from the console's sections."""
    page.goto(f"{studio.base}/admin#token={token('finance')}")
    expect(page.get_by_role("heading", name="Revenue and liability", level=1)).to_be_visible()  # finance lands
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Margins").click()
    expect(page.get_by_role("heading", name="Margins", level=1)).to_be_visible()


def test_finance_reads_the_months_margins_as_a_chart_and_a_table(page: Page, studio: Studio, watch: Watch) -> None:
    open_margins(page, studio)
    page.get_by_label("From (first day)").fill("2026-03-01")
    page.get_by_label("To (the day after the last)").fill("2026-04-01")
    page.get_by_role("button", name="Show margins").click()
    table = page.get_by_role("table", name="Margins per template")
    poster = table.get_by_role("row", name="poster")
    expect(poster).to_contain_text("183.16")  # revenue: 5000 + 5000 + 8316 paise
    expect(poster).to_contain_text("6.04")  # provider cost: 72000 micro-dollars at INR 84
    expect(poster).to_contain_text("177.12")
    expect(poster).to_contain_text("96.7 %")
    expect(table.get_by_role("row", name="avatar")).to_contain_text("93.28")
    expect(table.get_by_role("row", name="Total")).to_contain_text("270.40")
    expect(page.get_by_text("1 generation has no recorded provider cost")).to_be_visible()
    expect(page.get_by_text("at 1 USD = 84 INR")).to_be_visible()
    chart = page.get_by_role("img", name="Revenue recognised and provider cost per template: 2026-03-01/2026-04-01")
    expect(chart).to_be_visible()
    assert chart.locator("g[data-template]").count() == 2
    assert unnamed_controls(page) == [] and low_contrast_text(page) == []
    screenshot(page, "desktop-console-margins-en", full_page=True)


def test_a_backwards_range_is_refused_beside_its_field(page: Page, studio: Studio, watch: Watch) -> None:
    open_margins(page, studio)
    page.get_by_label("From (first day)").fill("2026-04-01")
    page.get_by_label("To (the day after the last)").fill("2026-03-01")
    page.get_by_role("button", name="Show margins").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Enter both days, the second after the first")
    summary.get_by_role("link").click()
    expect(page.get_by_label("To (the day after the last)")).to_be_focused()


def test_an_admin_reaches_margins_by_its_tab(page: Page, studio: Studio, watch: Watch) -> None:
    page.goto(f"{studio.base}/admin#token={token('admin')}")
    expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Margins").click()
    expect(page.get_by_role("heading", name="Margins", level=1)).to_be_visible()
    expect(page.get_by_role("table", name="Margins per template")).to_be_visible()
