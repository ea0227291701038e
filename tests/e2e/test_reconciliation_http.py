"""Finance reconciles through the API: a settlement report uploaded (the finance or admin role only), the same
file one run, the runs and their lines read (paged, by outcome, as CSV), a paid-but-no-credits line resolved
through the purchase command, and every hostile upload refused with the line and column it is about."""

from __future__ import annotations

import csv
import io
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service import revenue_report
from service.container import Service
from service.settlement_files import MAX_FILE_BYTES
from tests.support.http import bearer, key
from tests.support.settlements import EXPECTED, SAMPLES, a_week_of_payments

pytestmark = pytest.mark.e2e
FINANCE = bearer("meena", "finance")
ADMIN = bearer("ravi", "admin")
HEADER = "payment_id,amount_minor,currency,settled_at,fee_minor,tax_minor,kind\n"


@pytest.fixture
def payments(service: Service, client: TestClient) -> None:
    a_week_of_payments(service.ledger, "pay_")


def upload(client: TestClient, data: bytes, fmt: str = "generic", who: dict[str, str] = FINANCE,
           name: str = "report.csv") -> Any:
    return client.post("/v1/admin/reconciliations", files={"file": (name, data, "text/csv")}, data={"format": fmt},
                       headers={**who, **key()})


def test_only_finance_and_admin_reconcile(client: TestClient, payments: None) -> None:
    data = (SAMPLES / "generic.csv").read_bytes()
    for who in (bearer("alice"), bearer("asha", "templates"), bearer("mo", "moderation")):
        assert upload(client, data, who=who).status_code == 403
        assert client.get("/v1/admin/reconciliations", headers=who).status_code == 403
    assert upload(client, data, who=ADMIN).status_code == 201


@pytest.mark.parametrize("fmt", ["generic", "razorpay"])
def test_a_report_is_one_run_however_often_uploaded(client: TestClient, payments: None, fmt: str) -> None:
    data = (SAMPLES / f"{fmt}.csv").read_bytes()
    first = upload(client, data, fmt)
    assert first.status_code == 201, first.text
    run = first.json()
    assert (run["counts"], run["format"], run["imported_by"], run["overdue"], run["repeated"]) == (
        EXPECTED, fmt, "meena", 1, False)
    assert run["skipped"] == (1 if fmt == "razorpay" else 0)  # an adjustment is not a payment
    again = upload(client, data, fmt, who=ADMIN)
    assert again.json()["run_id"] == run["run_id"] and again.json()["repeated"] is True
    listed = client.get("/v1/admin/reconciliations", headers=FINANCE).json()
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    assert client.get(f"/v1/admin/reconciliations/{run['run_id']}", headers=FINANCE).json()["counts"] == EXPECTED


def test_lines_are_paged_filtered_and_exported_as_csv(client: TestClient, payments: None) -> None:
    run = upload(client, (SAMPLES / "generic.csv").read_bytes()).json()
    url = f"/v1/admin/reconciliations/{run['run_id']}/lines"
    seen: list[dict[str, Any]] = []
    after = -1
    while True:
        page = client.get(url, params={"limit": 4, "after": after}, headers=FINANCE).json()
        seen.extend(page["lines"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert [line["index"] for line in seen] == list(range(sum(EXPECTED.values())))
    unsettled = client.get(url, params={"outcome": "credits_not_settled"}, headers=FINANCE).json()["lines"]
    assert [(line["payment_id"], line["overdue"], line["line"]) for line in unsettled] == [
        ("pay_E1005", True, None), ("pay_F1006", False, None)]
    unmatched = client.get(url, params={"unmatched": "true"}, headers=FINANCE).json()["lines"]
    assert len(unmatched) == sum(EXPECTED.values()) - EXPECTED["matched"]
    for answer in (client.get(url, params={"format": "csv", "outcome": "duplicate"}, headers=FINANCE),
                   client.get(url, params={"outcome": "duplicate"}, headers={**FINANCE, "Accept": "text/csv"})):
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [(r["line"], r["payment_id"], r["detail"]) for r in rows] == [("10", "pay_A1001", "repeats line 2")]
    assert client.get(url, params={"outcome": "lost"}, headers=FINANCE).status_code == 422
    assert client.get(url, params={"limit": 501}, headers=FINANCE).status_code == 422
    missing = "/v1/admin/reconciliations/00000000-0000-0000-0000-000000000000"
    assert client.get(missing, headers=FINANCE).status_code == 404
    assert client.get(f"{missing}/lines", headers=FINANCE).status_code == 404


def test_a_paid_line_without_credits_is_resolved_by_the_purchase_command(client: TestClient, payments: None) -> None:
    data = (HEADER + "pay_Z1,900,INR,2026-03-04T06:00:00Z,18,3,payment\n"
            "pay_A1001,49900,INR,2026-03-04T06:00:00Z,998,180,payment\n").encode()
    run = upload(client, data).json()
    url = f"/v1/admin/reconciliations/{run['run_id']}/lines"
    line = client.get(url, params={"outcome": "paid_no_credits"}, headers=FINANCE).json()["lines"][0]
    resolve = f"{url}/{line['index']}/resolve"
    wrong = client.post(resolve, json={"user_id": "zoya", "pack_id": "creator"}, headers={**FINANCE, **key()})
    assert wrong.status_code == 409 and "costs 4900 INR" in wrong.json()["detail"]
    matched = client.post(f"{url}/1/resolve", json={"user_id": "zoya", "pack_id": "starter"},
                          headers={**FINANCE, **key()})
    assert matched.status_code == 409 and "only a paid_no_credits line" in matched.json()["detail"]
    assert client.post(resolve, json={"user_id": "zoya", "pack_id": "starter"},
                       headers={**bearer("alice"), **key()}).status_code == 403
    done = client.post(resolve, json={"user_id": "zoya", "pack_id": "starter"}, headers={**FINANCE, **key()})
    assert done.status_code == 200, done.text
    assert (done.json()["payment_id"], done.json()["repeated"]) == ("pay_Z1", False)
    again = client.post(resolve, json={"user_id": "zoya", "pack_id": "starter"}, headers={**FINANCE, **key()})
    assert again.json()["repeated"] is True
    wallet = client.get("/v1/admin/wallets/zoya", params={"min_position": done.json()["position"]},
                        headers=ADMIN).json()
    assert wallet["available"] == 100  # the starter pack, once
    resolved = client.get(url, params={"outcome": "paid_no_credits", "min_position": again.json()["position"]},
                          headers=FINANCE).json()["lines"][0]
    assert resolved["resolved_by"] == "meena" and resolved["outcome"] == "paid_no_credits"


@pytest.mark.parametrize(("data", "fmt", "status", "expected"), [
    (HEADER + "pay_1,12x,INR,2026-03-01T00:00:00Z,0,0,payment\n", "generic", 422,
     "line 2, column amount_minor: '12x' is not a whole"),
    (HEADER + "pay_1,100000000000,INR,2026-03-01T00:00:00Z,0,0,payment\n", "generic", 422,
     "beyond the largest amount the ledger holds"),
    ("id,amount\n", "stripe", 422, "line 1: missing columns balance_transaction_id"),
    (HEADER, "paypal", 422, ""),
])
def test_a_hostile_upload_is_refused_saying_where(client: TestClient, data: str, fmt: str, status: int,
                                                 expected: str) -> None:
    answer = upload(client, data.encode(), fmt)
    assert answer.status_code == status, answer.text
    assert expected in answer.json()["detail"]


def test_a_latin1_file_a_csv_formula_and_a_huge_file(client: TestClient) -> None:
    latin1 = (HEADER + "pay_é,1,INR,2026-03-01T00:00:00Z,0,0,payment\n").encode("latin-1")
    assert "line 2, character 5: byte 0xe9 is not UTF-8" in upload(client, latin1).json()["detail"]
    formula = upload(client, (HEADER + "=1+2,100,INR,2026-03-01T00:00:00Z,0,0,payment\n").encode()).json()
    exported = client.get(f"/v1/admin/reconciliations/{formula['run_id']}/lines?format=csv", headers=FINANCE).text
    assert "'=1+2" in exported  # a spreadsheet shows it, it does not run it
    huge = upload(client, b"x" * (MAX_FILE_BYTES + 1024 * 1024))
    assert huge.status_code == 413
    assert client.post("/v1/admin/reconciliations", headers={**FINANCE, **key()}).status_code == 422


def test_past_the_finance_reports_allowed_at_once_an_import_is_a_503_and_its_retry_is_one_run(
        client: TestClient, payments: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # An import reads, matches and records a whole report: it takes a finance report's slot, so a burst of
    # them cannot take every worker thread; the refused one did nothing and its retry with the key is the run.
    data = (SAMPLES / "generic.csv").read_bytes()
    full = threading.BoundedSemaphore(1)
    full.acquire()
    monkeypatch.setattr(revenue_report, "_running", full)
    headers = {**FINANCE, **key()}
    files = {"file": ("report.csv", data, "text/csv")}
    busy = client.post("/v1/admin/reconciliations", files=files, data={"format": "generic"}, headers=headers)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5", busy.text
    assert client.get("/v1/admin/reconciliations", headers=FINANCE).json() == []
    monkeypatch.undo()
    done = client.post("/v1/admin/reconciliations", files=files, data={"format": "generic"}, headers=headers)
    assert done.status_code == 201 and done.json()["counts"] == EXPECTED, done.text
