"""Reports and takedowns in the browser: "Report this image" on a share page with JavaScript off (a problem
comes back with an error summary and the field's error; a report is thanked), then the console's queue for the
moderation role: the image, its template, the learner's words and the reasons, taken down with a note, after which
the share link answers 404 and the owner's gallery says why."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from api.http.auth import issue_token
from service.settings.api import EMBEDDED_JWT_SECRET
from tests.browser.audit import low_contrast_text, unnamed_controls
from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Rude words here", "date": "1 March"}}


def shared_image(studio: Studio, user: str) -> tuple[str, str]:
    """A poster of ``user``'s, rendered and shared through the API: its generation id and share page."""
    assert studio.api("POST", "/v1/dev/purchase", user, json={"pack_id": "starter"}).status_code == 200
    generation_id = studio.api("POST", "/v1/generations", user, json=POSTER).json()["generation_id"]
    for _ in range(300):
        if studio.api("GET", f"/v1/generations/{generation_id}", user).json()["status"] == "completed":
            break
        time.sleep(0.1)
    shared = studio.api("POST", f"/v1/generations/{generation_id}/share", user).json()
    return generation_id, shared["share_url"]


def test_the_share_pages_report_form_works_without_javascript(browser: Browser, studio: Studio,
                                                               request: pytest.FixtureRequest) -> None:
    _, share_url = shared_image(studio, user_name(request))
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(share_url)
        page.get_by_text("Report this image").click()
        page.get_by_label("What is wrong with it (optional)").fill("Insults a teacher by name")
        page.get_by_role("button", name="Send report").click()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("There is a problem")
        summary.get_by_role("link", name="choose one of").click()
        expect(page.get_by_label("Hate: it attacks people for who they are")).to_be_focused()
        expect(page.get_by_label("What is wrong with it (optional)")).to_have_value("Insults a teacher by name")
        page.get_by_label("Harassment or bullying of someone").check()
        page.get_by_role("button", name="Send report").click()
        expect(page.get_by_role("status")).to_have_text("Thank you: your report was sent. Our team will look at it.")
        assert unnamed_controls(page) == [] and low_contrast_text(page) == []
    finally:
        context.close()


def test_a_moderator_takes_a_reported_image_down_from_the_console(page: Page, studio: Studio, watch: Watch,
                                                                   request: pytest.FixtureRequest) -> None:
    owner = user_name(request)
    _, share_url = shared_image(studio, owner)
    page_html = httpx.get(share_url, timeout=10).text
    key = page_html.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    sent = httpx.post(f"{share_url}/report", data={"category": "hate", "text": "a slur", "form_key": key},
                      headers={"Accept": "application/json"}, timeout=10)
    assert sent.status_code == 202, sent.text

    token = issue_token(EMBEDDED_JWT_SECRET, "mia", issuer="studio-ledger", audience="studio-ledger",
                        roles=("moderation",))
    page.goto(f"{studio.base}/admin#token={token}")
    expect(page.get_by_role("heading", name="Reported images", level=1)).to_be_visible()
    case = page.get_by_role("listitem").filter(has_text=owner)
    expect(case.get_by_role("heading", level=2)).to_have_text("Rude words here")
    expect(case).to_contain_text("Reported 1 times")
    expect(case).to_contain_text("course: Rude words here")
    expect(case).to_contain_text("it attacks people for who they are: a slur")
    expect(case.get_by_role("img")).to_be_visible()
    assert unnamed_controls(page) == [] and low_contrast_text(page) == []
    case.get_by_label("Reason for a takedown").select_option("harassment")
    case.get_by_label("Note to the image's owner").fill("The poster insults a teacher.")
    case.get_by_role("button", name="Take down").click()
    expect(page.locator("#notice")).to_have_text("The image is taken down: every link to it stops working.")
    expect(page.get_by_role("listitem").filter(has_text=owner)).to_have_count(0)
    assert httpx.get(share_url, timeout=10).status_code == 404
    assert httpx.get(f"{share_url}/image", timeout=10).status_code == 404
    gallery = studio.api("GET", "/v1/gallery", owner).json()["items"]
    assert gallery[0]["taken_down"] == {"category": "harassment", "note": "The poster insults a teacher."}

    sign_in_as(page, studio, owner)  # the owner sees why, in their language
    expect(page.locator(".shot.taken-down")).to_contain_text(
        "Taken down after reports: harassment or bullying. The image and its share link are gone")
    expect(page.locator(".shot.taken-down")).to_contain_text("Our team's note: The poster insults a teacher.")
    page.goto(f"{studio.base}/?lang=hi")
    expect(page.locator(".shot.taken-down")).to_contain_text("रिपोर्ट के बाद हटाई गई: उत्पीड़न या धमकाना।")


def test_a_moderator_restores_the_sharing_of_a_learner_who_lost_it(page: Page, studio: Studio, watch: Watch,
                                                                  request: pytest.FixtureRequest) -> None:
    owner = user_name(request)
    token = issue_token(EMBEDDED_JWT_SECRET, "mia", issuer="studio-ledger", audience="studio-ledger",
                        roles=("moderation",))
    moderator = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # the shipped policy's suspend_after_takedowns
        generation_id, _ = shared_image(studio, owner)
        taken = httpx.post(f"{studio.base}/v1/admin/reports/{generation_id}/takedown", json={"category": "spam"},
                           headers=moderator, timeout=10)
        assert taken.status_code == 200, taken.text
    page.goto(f"{studio.base}/admin#token={token}")
    expect(page.get_by_role("heading", name="Learners who lost sharing", level=2)).to_be_visible()
    learner = page.get_by_role("listitem").filter(has_text=f"{owner}: 3 images taken down")
    learner.get_by_label("Why sharing is restored").fill("Appeal heard; the learner understood the rules")
    learner.get_by_role("button", name=f"Restore sharing: {owner}").click()
    expect(page.locator("#notice")).to_have_text(f"{owner} may share again.")
    expect(page.get_by_role("listitem").filter(has_text=f"{owner}: 3 images taken down")).to_have_count(0)
    assert unnamed_controls(page) == [] and low_contrast_text(page) == []
