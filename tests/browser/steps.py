"""Steps the browser tests share, written as a learner would do them (by role and label)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Studio

SHOTS = os.environ.get("STUDIO_SCREENSHOTS")  # a folder: the tests then save the main screens there


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save the page as ``<name>.png`` when screenshots were asked for."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.evaluate("document.fonts.ready")
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page, animations="disabled")


def sign_in_as(page: Page, studio: Studio, user: str, *, query: str = "") -> None:
    """The embedded default's "Sign in as" form."""
    page.goto(f"{studio.base}/{query}")
    page.get_by_label("Sign in as").fill(user)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()


def available(page: Page) -> Locator:
    """The large number of available credits."""
    return page.locator("#available")


def demo_purchase(page: Page, pack: str = "Starter", credits: int = 100) -> None:
    """Buy a pack with the demo payment and wait for the credits."""
    page.get_by_role("button", name=f"Demo purchase: {pack}").click()
    expect(page.get_by_role("status").filter(has_text=f"{credits} credits added")).to_be_visible()


def choose(page: Page, template: str) -> Locator:
    """Pick a template; its form."""
    page.get_by_role("button", name=f"Use this template: {template}").click()
    form = page.get_by_role("form", name=template)
    expect(form).to_be_visible()
    return form


def make_poster(page: Page, course: str = "Data Science Bootcamp", date: str = "3 March") -> Locator:
    """Fill the course launch poster's form and generate it; the form."""
    form = choose(page, "Course launch poster")
    form.get_by_label("Course title").fill(course)
    form.get_by_label("Start date").fill(date)
    form.get_by_role("button", name=re.compile(r"^Generate")).click()
    return form
