"""The operators' console at /admin, driven as an operator would: a template created with English and Hindi
words, previewed, published, edited and published again (with the changes shown), retired and restored;
by keyboard too; every control named, AA contrast, no console error, nothing fetched from another host."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from api.http.auth import issue_token
from media.templates import CATALOG_DIR, template_fields
from media.tomlfile import read_toml
from service.settings.api import EMBEDDED_JWT_SECRET
from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch
from tests.browser.steps import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
WEBINAR = template_fields(read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError))
WEBINAR_LAYOUT = {**WEBINAR["layout"], "slots": [{k: v for k, v in slot.items() if k != "translations"}
                                                  for slot in WEBINAR["layout"]["slots"]]}


def operator_token(user: str = "asha") -> str:
    return issue_token(EMBEDDED_JWT_SECRET, user, issuer="studio-ledger", audience="studio-ledger",
                       roles=("templates",))


def open_console(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.base}/admin#token={operator_token()}")
    expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Webinar poster")).to_be_visible()


def add_field(page: Page, number: int, *, name: str, label: str, sample: str = "", max_length: str = "") -> Locator:
    """Add a field the learner fills in, as an operator would; its group of controls."""
    page.get_by_role("button", name="Add a field").click()
    field = page.get_by_role("group", name=f"Field {number}")
    expect(field.get_by_label("Name", exact=True)).to_be_focused()
    field.get_by_label("Name", exact=True).fill(name)
    field.get_by_label("Label", exact=True).fill(label)
    if sample:
        field.get_by_label("Sample for previews").fill(sample)
    if max_length:
        field.get_by_label("Most characters").fill(max_length)
    return field


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
    page.get_by_label("Title", exact=True).fill("Diwali offer")
    page.get_by_label("Description", exact=True).fill("A festive offer poster.")
    page.get_by_label("Category", exact=True).select_option("poster")
    page.get_by_label("Price in credits").fill("5")
    page.get_by_label("Aspect ratio").select_option("3:4")
    page.get_by_label("Prompt", exact=True).fill(WEBINAR["prompt"])
    page.get_by_label("Caption").fill(WEBINAR["caption"])
    page.get_by_label("Image provider").select_option("local")
    page.get_by_label("Model", exact=True).fill("procedural")
    add_field(page, 1, name="topic", label="Offer", sample="Flat 40% off")
    add_field(page, 2, name="time", label="Until", sample="till Sunday", max_length="30")
    style = add_field(page, 3, name="style", label="Style")
    style.get_by_label("Type").select_option(label="Choice")
    style.get_by_label("Choices").fill("flat\nisometric\nphotographic")
    style.get_by_label("Default").fill("flat")
    page.get_by_label("Layout (JSON, for experts)").fill(json.dumps(WEBINAR_LAYOUT))
    page.get_by_label("Language to add").select_option(label="हिन्दी")
    page.get_by_role("button", name="Add the language").click()
    page.get_by_label("Title in हिन्दी").fill("दिवाली ऑफ़र")
    page.get_by_label("Description in हिन्दी").fill("त्योहार के ऑफ़र का पोस्टर।")
    page.get_by_label("Label of topic in हिन्दी").fill("ऑफ़र")
    page.get_by_label("Label of time in हिन्दी").fill("कब तक")
    page.get_by_label("Label of style in हिन्दी").fill("शैली")
    page.get_by_label("Words of the kicker slot in हिन्दी").fill("दिवाली ऑफ़र")
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

    page.get_by_label("Title", exact=True).fill("Diwali mega offer")
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
    expect(page.get_by_label("Title", exact=True)).to_have_value("Webinar poster (draft)")
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


def test_an_operator_adds_a_field_sees_it_in_the_preview_unsaved_and_learners_get_it_once_published(
        page: Page, studio: Studio, watch: Watch) -> None:
    watch.expect_answer(422)
    template_id = f"webinar-{os.urandom(3).hex()}"
    publish_version(studio, template_id, "Speaker webinar", "वक्ता वेबिनार")
    eventually(lambda: template_id in studio_titles(studio))
    open_console(page, studio)
    page.get_by_role("link", name="Speaker webinar").click()
    expect(page.get_by_role("img", name=f"Preview of {template_id} in flat, English")).to_be_visible()
    expect(page.get_by_text("The draft is the published version.")).to_be_visible()  # the form round-trips
    page.get_by_label("Language of the sample").select_option("hi")
    preview = page.get_by_role("img", name=f"Preview of {template_id} in flat, हिन्दी")
    expect(preview).to_be_visible()
    before = preview.screenshot()

    speaker = add_field(page, 4, name="speaker", label="Speaker", sample="Dr Rao", max_length="500")
    speaker.get_by_label("Hint under the label").fill("Who presents the session")
    page.get_by_label("Label of speaker in हिन्दी").fill("वक्ता")
    page.get_by_label("Hint of speaker in हिन्दी").fill("सत्र कौन लेगा")
    page.get_by_label("Words of the kicker slot in हिन्दी").fill("{speaker} के साथ लाइव")
    # Not saved: the preview follows the fields, and the bad length is named at its control.
    expect(speaker.locator(".error-message")).to_contain_text("less than or equal to 200")
    expect(speaker.get_by_label("Most characters")).to_have_attribute("aria-describedby", re.compile("-error"))
    summary = page.get_by_role("alert")
    summary.get_by_role("link", name=re.compile(r"^variables\.3\.max_length")).click()
    expect(speaker.get_by_label("Most characters")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("40")
    expect(page.get_by_role("alert")).to_be_hidden()
    eventually(lambda: preview.screenshot() != before)
    assert operate(studio, "GET", f"/v1/admin/templates/{template_id}").json()["draft"] is None  # nothing saved
    expect(page.locator("#diff-rows th")).to_contain_text([
        "layout.slots.0.translations.hi", "translations.hi.hints.speaker", "translations.hi.labels.speaker",
        "variables.3.hint", "variables.3.label", "variables.3.max_length"])
    screenshot(page, "desktop-console-fields-en", full_page=True)

    page.get_by_label("Reason for the change").fill("name the speaker")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_have_text("Draft saved.")
    page.get_by_label("Reason for the change").fill("approved")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text("Version 2 published.")
    eventually(lambda: any(v["name"] == "speaker" for t in httpx.get(f"{studio.base}/v1/templates", timeout=10).json()
                           if t["id"] == template_id for v in t["variables"]))
    page.goto(f"{studio.base}/?lang=hi#token={studio.token('kiran')}")
    page.get_by_role("button", name="यह टेम्पलेट चुनें: वक्ता वेबिनार").click()
    learner_form = page.get_by_role("form", name="वक्ता वेबिनार")
    expect(learner_form.get_by_label("वक्ता")).to_be_visible()
    expect(learner_form.get_by_text("सत्र कौन लेगा")).to_be_visible()


def test_the_template_form_is_filled_and_its_problems_found_with_the_keyboard_alone(page: Page, studio: Studio,
                                                                                    watch: Watch) -> None:
    watch.expect_answer(422)
    open_console(page, studio)
    page.get_by_role("link", name="Webinar poster").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Edit Webinar poster")).to_be_focused()
    add = page.get_by_role("button", name="Add a field")
    add.focus()
    page.keyboard.press("Enter")
    field = page.get_by_role("group", name="Field 4")
    expect(field.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("Bad Name")
    page.get_by_label("Reason for the change").focus()
    page.keyboard.type("try")
    page.get_by_role("button", name="Save draft").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("alert").get_by_role("link").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(field.get_by_label("Name", exact=True)).to_be_focused()
    field.get_by_role("button", name="Move up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("group", name="Field 3").get_by_label("Name", exact=True)).to_have_value("Bad Name")
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []


def test_a_live_preview_answering_after_a_save_leaves_the_problem_summary_where_the_keyboard_is(
        page: Page, studio: Studio, watch: Watch) -> None:
    # The preview asked for while the operator typed answers after the save's problems were shown and
    # focused (a slow machine, a busy server). An answer for fields that have changed since says nothing of
    # them (it hid the summary, and the focus with it), and the next preview's problems redraw the summary
    # where the keyboard is: the focus stays on it.
    watch.expect_answer(422)
    held: list[Route] = []
    holding = [True]

    def hold(route: Route) -> None:
        if holding:
            held.append(route)
        else:
            route.continue_()

    previews = re.compile(r"/v1/admin/templates/[^/]+/preview\.png")
    page.route(previews, hold)
    open_console(page, studio)
    page.get_by_role("link", name="Webinar poster").click()
    page.get_by_role("button", name="Add a field").click()
    page.get_by_role("group", name="Field 4").get_by_label("Name", exact=True).fill("Bad Name")
    page.get_by_label("Reason for the change").fill("try")
    for _ in range(100):  # the live preview goes out (and is held) once the typing pauses
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no live preview was asked for"
    page.get_by_role("button", name="Save draft").click()
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    holding.clear()
    while held:
        held.pop(0).continue_()
    expect(page.locator("#preview-state")).to_have_text("The preview shows the last fields that had no problems.")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()


def test_the_template_form_speaks_hindi_with_every_control_named(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.base}/admin?lang=hi#token={operator_token()}")
    page.get_by_role("link", name="Webinar poster").click()
    expect(page.get_by_role("group", name="फ़ील्ड 1")).to_be_visible()
    expect(page.get_by_role("group", name="सीखने वाले के भरने के फ़ील्ड")).to_be_visible()
    expect(page.get_by_label("हिन्दी में topic का लेबल")).to_have_value("वेबिनार का विषय")
    expect(page.get_by_role("button", name="बैकअप मॉडल जोड़ें")).to_be_visible()
    expect(page.get_by_role("img", name="poster-webinar का पूर्वावलोकन: flat, English")).to_be_visible()
    assert unnamed_controls(page) == []
    assert low_contrast_text(page) == []
