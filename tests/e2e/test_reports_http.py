"""Reports and takedowns over HTTP: the share page's report form (no sign-in, no JavaScript), each refusal at the
edge and in the route, the operators' queue, a takedown that makes every URL of the image answer 404 and tells
the owner why, dismissal, sharing lost after the limit and restored; the audit verifies and journals them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from service.container import Service
from tests.support.http import bearer, client_for, key, purchase, service_for, signed
from tests.support.made import made

pytestmark = pytest.mark.e2e
ALICE, MOD, BOB = bearer("alice"), bearer("mia", "moderation"), bearer("bob")
TEMPLATES = bearer("tess", "templates")
KEY = re.compile(r'name="form_key" value="([0-9a-f]+)"')


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A service on SQLite without the pipeline: the tests store and complete the image themselves."""
    return service_for("sqlite", tmp_path, with_pipeline=False, reports_per_address=3)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service, alice holding a starter pack."""
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        yield client


def shared(client: TestClient, service: Service) -> tuple[str, str, Path]:
    """A shared image of alice's: its generation id, its share page's path, and its file."""
    generation_id, file = made(client, service)
    answer = client.post(f"/v1/generations/{generation_id}/share", headers={**ALICE, **key()}).json()
    page = answer["share_url"].removeprefix("http://testserver")
    assert client.get(f"{page}?min_position={answer['position']}").status_code == 200
    return generation_id, page, file


def form_key(client: TestClient, page: str) -> str:
    found = KEY.search(client.get(page).text)
    assert found, "the share page has no report form"
    return found.group(1)


def report(client: TestClient, page: str, *, category: str = "hate", text: str = "", html: bool = False,
           headers: dict[str, str] | None = None, form: str | None = None) -> object:
    data = {"category": category, "text": text, "form_key": form_key(client, page) if form is None else form}
    accept = {"Accept": "text/html" if html else "application/json"}
    return client.post(f"{page}/report", data=data, headers={**accept, **(headers or {})}, follow_redirects=False)


def test_the_share_page_has_a_report_form_that_works_without_javascript(client: TestClient, service: Service) -> None:
    _, page, _ = shared(client, service)
    html = client.get(page).text
    assert f'<form method="post" action="{page}/report"' in html and "<script" not in html
    assert '<label for="report-text">' in html and '<legend>Why are you reporting this image?</legend>' in html
    sent = report(client, page, text="A  slur\\n on the poster", html=True)
    assert sent.status_code == 303 and sent.headers["location"] == f"{page}?reported=true"  # type: ignore[attr-defined]
    thanks = client.get(f"{page}?reported=true")
    assert "your report was sent" in thanks.text and thanks.headers["cache-control"] == "no-store"


def test_a_form_with_a_problem_comes_back_with_an_error_summary_and_the_words_kept(
        client: TestClient, service: Service) -> None:
    _, page, _ = shared(client, service)
    answer = report(client, page, category="", text="my words", html=True)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    body = answer.text  # type: ignore[attr-defined]
    assert "There is a problem" in body and 'href="#report-category"' in body
    assert '<details class="report" open>' in body
    assert ">my words</textarea>" in body


@pytest.mark.parametrize(("category", "text", "field", "says"), [
    ("rude", "", "category", "choose one of hate"),
    ("", "", "category", "choose one of"),
    ("hate", "x" * 501, "text", "at most 500"),
    ("hate", "look\u202eelsewhere", "text", "U+202E"),
    ("hate", "zero\u200bwidth", "text", "U+200B"),
    ("hate", "bell\x07", "text", "U+0007"),
])
def test_every_bad_report_is_a_422_naming_its_field(client: TestClient, service: Service, category: str, text: str,
                                                    field: str, says: str) -> None:
    _, page, _ = shared(client, service)
    answer = report(client, page, category=category, text=text)
    problem = answer.json()  # type: ignore[attr-defined]
    assert answer.status_code == 422 and problem["field"] == field and says in problem["detail"], problem  # type: ignore[attr-defined]


def test_a_report_without_the_pages_key_or_from_another_site_is_refused(client: TestClient, service: Service) -> None:
    _, page, _ = shared(client, service)
    stale = report(client, page, form="0" * 32)
    assert stale.status_code == 403 and stale.json()["type"].endswith("report-form-expired")  # type: ignore[attr-defined]
    forged = report(client, page, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and forged.json()["type"].endswith("cross-site-report")  # type: ignore[attr-defined]
    fetched = report(client, page, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403  # type: ignore[attr-defined]
    assert client.get("/v1/admin/reports", headers=MOD).json() == []


def test_a_body_over_the_limit_is_a_413_before_it_is_read(client: TestClient, service: Service) -> None:
    _, page, _ = shared(client, service)
    answer = client.post(f"{page}/report", content=b"text=" + b"x" * 9000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and answer.json()["limit"] == 8192


def test_one_address_reports_a_few_an_hour_and_once_per_image(client: TestClient, service: Service) -> None:
    generation_id, page, _ = shared(client, service)
    assert report(client, page).status_code == 202  # type: ignore[attr-defined]
    assert report(client, page, category="spam").status_code == 202  # type: ignore[attr-defined]  # a repeat
    third = report(client, page)
    assert third.status_code == 202  # type: ignore[attr-defined]
    limited = report(client, page)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    queue = client.get(f"/v1/admin/reports?min_position={third.json()['position']}", headers=MOD).json()  # type: ignore[attr-defined]
    assert [(c["generation_id"], c["reports"]) for c in queue] == [(generation_id, 1)]  # one address, one report


def test_an_image_with_as_many_open_reports_as_allowed_answers_409(client: TestClient, service: Service) -> None:
    service.api.reports_per_image = 1
    generation_id, page, _ = shared(client, service)
    service.ledger.report_generation(generation_id=UUID(generation_id), category="spam", text="", reporter="another",
                                     at=service.clock(), max_open=1)  # from another address
    full = report(client, page)
    assert full.status_code == 409 and full.json()["type"].endswith("reports-full")  # type: ignore[attr-defined]


def test_a_link_that_shares_nothing_cannot_be_reported(client: TestClient) -> None:
    answer = client.post("/s/nothing-here/report", data={"category": "hate"}, headers={"Accept": "application/json"})
    assert answer.status_code == 404


def test_the_queue_and_decisions_need_the_moderation_or_admin_role(client: TestClient, service: Service) -> None:
    generation_id, _, _ = shared(client, service)
    for who in (ALICE, TEMPLATES):
        assert client.get("/v1/admin/reports", headers=who).status_code == 403
        assert client.post(f"/v1/admin/reports/{generation_id}/takedown", json={"category": "hate"},
                           headers=who).status_code == 403
    assert client.get("/v1/admin/reports").status_code == 401
    assert client.get("/v1/admin/reports", headers=bearer("root", "admin")).status_code == 200


def test_a_takedown_makes_every_url_404_tells_the_owner_why_and_keeps_the_credits(
        client: TestClient, service: Service) -> None:
    generation_id, page, file = shared(client, service)
    sent = report(client, page, text="a slur")
    position = sent.json()["position"]  # type: ignore[attr-defined]
    queue = client.get(f"/v1/admin/reports?min_position={position}", headers=MOD).json()
    case = queue[0]
    assert (case["reports"], case["categories"], case["template_id"]) == (1, {"hate": 1}, "poster-course-launch")
    assert case["variables"]["course"] == "Intro to SQL" and case["details"][0]["text"] == "a slur"
    image = case["image_url"]
    before = client.get("/v1/wallet", headers=ALICE).json()

    bad = client.post(f"/v1/admin/reports/{generation_id}/takedown", json={"category": "nope"}, headers=MOD)
    assert bad.status_code == 422 and bad.json()["field"].endswith("category")
    note = client.post(f"/v1/admin/reports/{generation_id}/takedown", json={"category": "hate", "note": "a\u202eb"},
                       headers=MOD)
    assert note.status_code == 422 and note.json()["field"] == "note"
    taken = client.post(f"/v1/admin/reports/{generation_id}/takedown",
                        json={"category": "hate", "note": "The caption attacks a group."}, headers=MOD)
    assert taken.status_code == 200, taken.text
    position = taken.json()["position"]
    again = client.post(f"/v1/admin/reports/{generation_id}/takedown", json={"category": "hate"}, headers=MOD)
    assert again.json()["repeated"] and again.json()["position"] == position

    assert client.get(f"{page}?min_position={position}").status_code == 404
    assert client.get(f"{page}/image").status_code == 404
    assert client.get(image.removeprefix("http://testserver")).status_code == 404
    assert not file.exists() and not list(file.parent.glob(f"{file.stem}*"))
    assert report(client, page, form="0" * 32).status_code == 404  # type: ignore[attr-defined]
    gallery = client.get(f"/v1/gallery?min_position={position}", headers=ALICE).json()["items"]
    assert [(g["generation_id"], g["image_url"], g["taken_down"]) for g in gallery] == [
        (generation_id, "", {"category": "hate", "note": "The caption attacks a group."})]
    after = client.get("/v1/wallet", headers=ALICE).json()
    assert (after["available"], after["lifetime"]) == (before["available"], before["lifetime"])
    assert client.get(f"/v1/admin/reports?min_position={position}", headers=MOD).json() == []
    upheld = client.get(f"/v1/admin/reports?status=upheld&min_position={position}", headers=MOD).json()
    assert upheld[0]["details"][0]["decided_by"] == "mia" and upheld[0]["variables"] == {}

    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(service.store.data_dir), "STUDIO_GROUP_COMMIT": "false"}
    verified = CliRunner().invoke(cli, ["audit", "verify", "--no-progress"], env=env)
    assert verified.exit_code == 0 and verified.output.startswith("OK: "), verified.output
    journal = CliRunner().invoke(cli, ["audit", "journal", "--format", "json", "--no-progress"], env=env)
    entries = json.loads(journal.output)
    memos = {e["event"]: e["lines"][0]["memo"] for e in entries}
    assert memos["GenerationReported"] == "reported as hate"
    assert memos["GenerationTakenDown"] == "taken down by mia as hate: The caption attacks a group."


def test_dismissing_keeps_the_image_shared(client: TestClient, service: Service) -> None:
    generation_id, page, _ = shared(client, service)
    report(client, page)
    kept = client.post(f"/v1/admin/reports/{generation_id}/dismiss", json={"note": "satire"}, headers=MOD)
    assert kept.status_code == 200 and not kept.json()["repeated"]
    assert client.get(f"{page}?min_position={kept.json()['position']}").status_code == 200
    seen = kept.json()["position"]
    assert client.get(f"/v1/admin/reports?min_position={seen}", headers=MOD).json() == []
    dismissed = client.get(f"/v1/admin/reports?status=dismissed&min_position={seen}", headers=MOD).json()
    assert dismissed[0]["details"][0]["note"] == "satire"


def test_sharing_is_lost_after_the_limit_of_takedowns_and_restored_by_an_operator(
        client: TestClient, service: Service) -> None:
    _, kept_page, _ = shared(client, service)  # a share never reported: its link stops working with the rest
    position = 0
    for _ in range(service.policy.share.suspend_after_takedowns):
        generation_id, _, _ = shared(client, service)
        taken = client.post(f"/v1/admin/reports/{generation_id}/takedown", json={"category": "spam"}, headers=MOD)
        position = taken.json()["position"]
    assert client.get(f"{kept_page}?min_position={position}").status_code == 404
    fresh, _ = made(client, service)
    refused = client.post(f"/v1/generations/{fresh}/share", headers={**ALICE, **key()})
    assert refused.status_code == 403 and refused.json()["type"].endswith("sharing-suspended"), refused.text
    seen = client.get(f"/v1/admin/learners/alice/sharing?min_position={position}", headers=MOD).json()
    assert (seen["suspended"], seen["upheld"]) == (True, service.policy.share.suspend_after_takedowns)
    listed = client.get("/v1/admin/learners/suspended", headers=MOD).json()
    assert [(s["user_id"], s["suspended"]) for s in listed] == [("alice", True)]
    assert client.get("/v1/admin/learners/suspended", headers=ALICE).status_code == 403
    assert client.post("/v1/admin/learners/bob/sharing/restore", json={"reason": "x"}, headers=MOD).status_code == 409
    assert client.post("/v1/admin/learners/alice/sharing/restore", json={"reason": ""},
                       headers=MOD).status_code == 422
    restored = client.post("/v1/admin/learners/alice/sharing/restore", json={"reason": "appeal upheld"}, headers=MOD)
    assert restored.status_code == 200, restored.text
    assert client.get(f"{kept_page}?min_position={restored.json()['position']}").status_code == 200
    assert client.get("/v1/admin/learners/suspended", headers=MOD).json() == []
    assert client.post(f"/v1/generations/{fresh}/share", headers={**ALICE, **key()}).status_code == 200


def test_deciding_on_an_image_that_does_not_exist_is_a_404(client: TestClient) -> None:
    missing = "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d"
    for action, body in (("takedown", {"category": "hate"}), ("dismiss", {})):
        answer = client.post(f"/v1/admin/reports/{missing}/{action}", json=body, headers=MOD)
        assert answer.status_code == 404, answer.text


def test_reports_of_an_image_its_owner_deletes_leave_the_queue_as_closed(client: TestClient, service: Service) -> None:
    generation_id, page, _ = shared(client, service)
    report(client, page)
    deleted = client.delete(f"/v1/generations/{generation_id}", headers=ALICE).json()
    assert client.get(f"/v1/admin/reports?min_position={deleted['position']}", headers=MOD).json() == []
    closed = client.get(f"/v1/admin/reports?status=closed&min_position={deleted['position']}", headers=MOD).json()
    assert [(c["generation_id"], c["details"][0]["note"]) for c in closed] == [(generation_id, "owner")]


def test_a_browser_past_the_limits_gets_the_page_back_saying_why(client: TestClient, service: Service) -> None:
    _, page, _ = shared(client, service)
    for _ in range(3):
        assert report(client, page, html=True).status_code == 303  # type: ignore[attr-defined]
    limited = report(client, page, html=True, text="mine")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "There is a problem" in limited.text and "try again later" in limited.text  # type: ignore[attr-defined]
    assert ">mine</textarea>" in limited.text  # type: ignore[attr-defined]
