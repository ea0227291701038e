"""Finance reconciles a settlement report in the console at /admin: the report uploaded, its unmatched lines
shown with why, a paid-but-no-credits payment credited to the learner through the purchase command; every
control named, AA contrast, no console error, nothing fetched from another host."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.http.auth import issue_token
from service.settings.api import EMBEDDED_JWT_SECRET
from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_finance_reconciles_a_report_and_credits_a_payment_that_gave_no_credits(
        page: Page, studio: Studio, watch: Watch, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    learner, missing = user_name(request), f"pay_{os.urandom(4).hex()}"
    bought = [studio.api("POST", "/v1/dev/purchase", learner, json={"pack_id": pack}).json()["payment_id"]
              for pack in ("starter", "creator")]
    now = datetime.now(UTC).isoformat()
    report = tmp_path / "settlement-march.csv"
    report.write_text("payment_id,amount_minor,currency,settled_at,fee_minor,tax_minor,kind\n"
                      f"{bought[0]},900,INR,{now},18,3,payment\n"
                      f"{bought[1]},4000,INR,{now},80,14,payment\n"
                      f"{missing},900,INR,{now},18,3,payment\n"
                      f"{bought[0]},900,INR,{now},18,3,payment\n", encoding="utf-8")
    token = issue_token(EMBEDDED_JWT_SECRET, "meena", issuer="studio-ledger", audience="studio-ledger",
                        roles=("finance",))
    page.goto(f"{studio.base}/admin#token={token}")
    expect(page.get_by_role("heading", name="Revenue and liability", level=1)).to_be_visible()  # the role's landing
    page.get_by_role("link", name="Reconciliation", exact=True).click()
    expect(page.get_by_role("heading", name="Reconciliation", level=1)).to_be_visible()
    page.get_by_label("Settlement report").set_input_files(str(report))
    page.get_by_label("Format").select_option("generic")
    page.get_by_role("button", name="Reconcile the report").click()
    expect(page.locator("#notice")).to_have_text("settlement-march.csv reconciled.")
    expect(page.get_by_role("heading", name="Lines of settlement-march.csv that did not match")).to_be_visible()
    lines = page.locator("#run-lines")
    expect(lines.get_by_role("row").filter(has_text=bought[1])).to_contain_text("Amount differs")
    expect(lines.get_by_role("row").filter(has_text=bought[1])).to_contain_text("ledger ₹49.00")
    expect(lines.get_by_role("row").filter(has_text="Duplicate line")).to_contain_text("repeats line 2")
    expect(page.locator("#run-counts")).to_contain_text("Matched: 1")
    row = lines.get_by_role("row").filter(has_text=missing)
    expect(row).to_contain_text("Paid, no credits")
    assert unnamed_controls(page) == [] and low_contrast_text(page) == []
    row.get_by_label("Learner's user id").fill(learner)
    expect(row.get_by_label("Pack")).to_have_value("starter")  # the pack that costs what was settled
    screenshot(page, "console-reconciliation", full_page=True)
    row.get_by_role("button", name=f"Credit payment {missing}").click()
    expect(page.locator("#notice")).to_have_text(f"Payment {missing} credited to {learner}.")
    expect(lines.get_by_role("row").filter(has_text=missing)).to_contain_text("Credited by meena")
    wallet = studio.api("GET", "/v1/wallet", learner).json()
    assert wallet["available"] == 100 + 550 + 100  # the two packs bought, and the payment credited once
    expect(page.get_by_role("link", name="settlement-march.csv (Generic CSV)")).to_be_visible()
