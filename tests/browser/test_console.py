"""The operators' console at /admin, driven as an operator would: a template created with English and Hindi
words, previewed, published, edited and published again (with the changes shown), retired and restored;
by keyboard too; every control named, AA contrast, no console error, nothing fetched from another host."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.http.auth import issue_token
from generation.templates import CATALOG_DIR, template_fields
from generation.tomlfile import read_toml
from service.settings.http import EMBEDDED_JWT_SECRET
from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch
from tests.browser.steps import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
WEBINAR = template_fields(read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError))
OWN_INPUTS = ("id", "title", "description", "category", "cost", "aspect_ratio", "prompt", "negative_prompt",
              "caption", "model")


def operator_token(user: str = "asha") -> str:
    return issue_token(EMBEDDED_JWT_SECRET, user, issuer="studio-ledger", audience="studio-ledger",
                       roles=("templates",))


def open_console(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.base}/admin#token={operator_token()}")
    expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Webinar poster")).to_be_visible()


def rest_of(fields: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in fields.items() if k not in OWN_INPUTS}, ensure_ascii=False)


def studio_titles(studio: Studio) -> dict[str, str]:
    return {t["id"]: t["title"] for t in httpx.get(f"{studio.base}/v1/templates", timeout=10).json()}


def eventually(check: Any, within: float = 15.0) -> None:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "not within the time allowed"
        time.sleep(0.1)


def test_an_operator_creates_previews_publishes_edits_retires_and_restores_a_template(
        page: Page, studio: Studio, watch: Watch) -> None:
    watch.expect_answer(422)
    template_id = f"diwali-{os.urandom(3).hex()}"
    open_console(page, studio)
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []
    page.get_by_role("button", name="New template").click()
    page.get_by_label("Template id").fill(template_id)
    page.get_by_label("Title").fill("Diwali offer")
    page.get_by_label("Description").fill("A festive offer poster.")
    page.get_by_label("Category").select_option("poster")
    page.get_by_label("Price in credits").fill("5")
    page.get_by_label("Aspect ratio").select_option("3:4")
    page.get_by_label("Prompt", exact=True).fill(WEBINAR["prompt"])
    page.get_by_label("Caption").fill(WEBINAR["caption"])
    page.get_by_label("Image provider").select_option("local")
    page.get_by_label("Model").fill("procedural")
    hindi = {"hi": {"title": "दिवाली ऑफ़र", "description": "त्योहार के ऑफ़र का पोस्टर।",
                    "labels": {"topic": "ऑफ़र", "time": "कब तक", "style": "शैली"}}}
    page.get_by_label("Fields, layout and translations (JSON)").fill(rest_of({**WEBINAR, "translations": hindi}))
    page.get_by_role("button", name="Save draft").click()  # no reason yet: the error at its field and on top
    expect(page.get_by_role("alert")).to_contain_text("reason")
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []
    page.get_by_label("Reason for the change").fill("Diwali campaign")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_have_text("Draft saved.")
    expect(page.get_by_role("img", name=f"Preview of {template_id} in flat, English")).to_be_visible()
    expect(page.get_by_text("Not published yet: every field is new.")).to_be_visible()
    page.get_by_label("Language of the sample").select_option("hi")
    expect(page.get_by_role("img", name=f"Preview of {template_id} in flat, हिन्दी")).to_be_visible()
    screenshot(page, "desktop-console-edit-en", full_page=True)
    assert template_id not in studio_titles(studio)  # a draft is for operators only

    page.get_by_label("Reason for the change").fill("approved by marketing")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text("Version 1 published.")
    eventually(lambda: studio_titles(studio).get(template_id) == "Diwali offer")

    page.get_by_label("Title").fill("Diwali mega offer")
    page.get_by_label("Reason for the change").fill("a bigger offer")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_have_text("Draft saved.")
    expect(page.locator("#diff-rows th")).to_have_text(["title"])  # the one field that changed
    change = page.locator("#diff-rows tr")
    expect(change).to_contain_text('"Diwali offer"')
    expect(change).to_contain_text('"Diwali mega offer"')
    page.get_by_label("Reason for the change").fill("approved again")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text("Version 2 published.")
    eventually(lambda: studio_titles(studio).get(template_id) == "Diwali mega offer")

    page.get_by_label("Reason for the change").fill("festival over")
    page.get_by_role("button", name="Retire").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    eventually(lambda: template_id not in studio_titles(studio))
    page.get_by_label("Reason for the change").fill("back by demand")
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("button", name="Retire")).to_be_visible()
    eventually(lambda: template_id in studio_titles(studio))
    page.get_by_role("link", name="Back to the templates").click()
    expect(page.get_by_role("link", name="Diwali mega offer")).to_be_visible()
    screenshot(page, "desktop-console-list-en", full_page=True)


def test_the_console_is_used_with_the_keyboard_alone(page: Page, studio: Studio) -> None:
    open_console(page, studio)
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Webinar poster":
            break
    else:
        raise AssertionError("Tab never reached the webinar poster")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Edit Webinar poster")).to_be_focused()
    expect(page.get_by_role("img", name="Preview of poster-webinar in flat, English")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Template id")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("End")  # tabbing into a field selects its text
    page.keyboard.type(" (draft)")
    expect(page.get_by_label("Title")).to_have_value("Webinar poster (draft)")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Back to the templates")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Templates", level=1)).to_be_focused()


def test_a_token_without_the_templates_role_is_told_so(page: Page, studio: Studio, watch: Watch) -> None:
    watch.expect_answer(403)
    page.goto(f"{studio.base}/admin#token={studio.token('learner')}")
    expect(page.get_by_role("alert")).to_contain_text("needs the templates or admin role")
    expect(page.get_by_role("textbox", name="Token")).to_be_visible()


def operate(studio: Studio, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {operator_token()}", "Idempotency-Key": os.urandom(8).hex()}
    answer = httpx.request(method, studio.base + path, headers=headers, timeout=30, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer


def publish_version(studio: Studio, template_id: str, title: str, hindi: str) -> None:
    translations = {"hi": {"title": hindi, "description": "त्योहार का पोस्टर।"}}
    fields = {**WEBINAR, "id": template_id, "title": title, "translations": translations}
    operate(studio, "PUT", f"/v1/admin/templates/{template_id}?reason=festival", json=fields)
    operate(studio, "POST", f"/v1/admin/templates/{template_id}/publish", json={"reason": "approved"})


def test_an_image_keeps_the_words_of_its_template_version_after_a_rename(page: Page, studio: Studio) -> None:
    template_id, user = f"diwali-{os.urandom(3).hex()}", f"meera-{os.urandom(2).hex()}"
    publish_version(studio, template_id, "Diwali offer", "दिवाली ऑफ़र")
    eventually(lambda: template_id in studio_titles(studio))
    assert studio.api("POST", "/v1/dev/purchase", user, json={"pack_id": "starter"}).status_code == 200
    made = studio.api("POST", "/v1/generations", user, json={
        "template_id": template_id, "variables": {"topic": "Flat 40% off", "time": "till Sunday"}})
    assert made.status_code == 202, made.text
    generation = made.json()["generation_id"]
    eventually(lambda: studio.api("GET", f"/v1/generations/{generation}", user).json()["status"] == "completed")
    publish_version(studio, template_id, "Diwali mega offer", "दिवाली मेगा ऑफ़र")
    eventually(lambda: studio_titles(studio).get(template_id) == "Diwali mega offer")
    page.goto(f"{studio.base}/?lang=hi#token={studio.token(user)}")
    expect(page.locator(f'#gallery-list > li[data-id="{generation}"] .shot-meta')).to_contain_text("दिवाली ऑफ़र")
    page.goto(f"{studio.base}/?lang=en")
    expect(page.locator(f'#gallery-list > li[data-id="{generation}"] .shot-meta')).to_contain_text("Diwali offer ·")


def test_the_console_speaks_hindi_from_the_same_catalogue(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.base}/admin?lang=hi#token={operator_token()}")
    expect(page.get_by_role("heading", name="टेम्पलेट", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="नया टेम्पलेट")).to_be_visible()
    expect(page.get_by_role("columnheader", name="पिछले 7 दिन")).to_be_visible()
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []
