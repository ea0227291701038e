"""``GET /v1/admin/finance/revenue``: the finance role (or admin) reads the report as JSON or CSV, as of a
position; learners and other operators are refused; every bad parameter is a 422 naming it."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from projections.finance.revenue import COLUMNS
from service import revenue_report
from service.container import Service
from tests.support.http import bearer, client_for, service_for
from tests.support.ledgers import busy_ledger

pytestmark = pytest.mark.e2e
FINANCE = bearer("meera", "finance")
ROUTE = "/v1/admin/finance/revenue"
JANUARY = {"from": "2026-01-01", "to": "2026-02-01"}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    built = service_for("sqlite", Path(tmp_path_factory.mktemp("revenue")), with_pipeline=False)
    busy_ledger(built.ledger)
    yield built  # stopped with the client that started it


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with client_for(service) as test_client:
        yield test_client


def test_the_finance_role_reads_a_month_that_ties_out(client: TestClient) -> None:
    response = client.get(ROUTE, params=JANUARY, headers=FINANCE)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["from"], report["to"], report["ok"]) == ("2026-01-01", "2026-02-01", True)
    assert len(report["days"]) == 31 * 3
    usd = next(r for r in report["months"] if r["currency"] == "USD")
    assert usd["sales"] == 999 and usd["difference"] == 0 and usd["ties_out"]


def test_the_csv_has_the_one_header_and_the_same_rows(client: TestClient) -> None:
    response = client.get(ROUTE, params={**JANUARY, "format": "csv"}, headers=bearer("ravi", "admin"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(lines[0]) == COLUMNS and len(lines) == 31 * 3 + 3


def test_as_of_a_position_the_later_events_are_left_out(client: TestClient) -> None:
    response = client.get(ROUTE, params={**JANUARY, "as_of_position": 3}, headers=FINANCE)
    assert response.status_code == 200, response.text
    assert response.json()["as_of_position"] == 3
    assert [(r["currency"], r["sales"]) for r in response.json()["months"]] == [("USD", 999)]


@pytest.mark.parametrize("who", [bearer("alice"), bearer("asha", "templates"), bearer("mo", "moderation")])
def test_learners_and_other_operators_are_refused(client: TestClient, who: dict[str, str]) -> None:
    assert client.get(ROUTE, params=JANUARY, headers=who).status_code == 403


def test_without_a_token_it_is_a_401(client: TestClient) -> None:
    assert client.get(ROUTE, params=JANUARY).status_code == 401


@pytest.mark.parametrize(("params", "problem"), [
    ({"from": "2026-1-01", "to": "2026-02-01"}, "at least 10"),
    ({"from": "2026-01-01 ", "to": "2026-02-01"}, "at most 10"),
    ({"from": "２０２６-01-01", "to": "2026-02-01"}, "is not a day written YYYY-MM-DD"),
    ({"from": "2026-W01-1x", "to": "2026-02-01"}, "at most 10"),
    ({"from": "2026-13-01", "to": "2026-02-01"}, "is not a day of the calendar"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "must end after it starts"),
    ({"from": "2000-01-01", "to": "2026-01-01"}, "at most 366"),
    ({"to": "2026-02-01"}, "Field required"),
    ({**JANUARY, "as_of_position": -1}, "greater than or equal to 0"),
    ({**JANUARY, "as_of_position": 10**30}, "less than or equal"),
    ({**JANUARY, "as_of_position": 10**6}, "outside the ledger"),
    ({**JANUARY, "as_of_position": "3.5"}, "valid integer"),
    ({**JANUARY, "format": "xml"}, "'json', 'csv' or 'svg'"),
])
def test_a_bad_parameter_is_a_422_that_names_the_problem(client: TestClient, params: dict[str, object],
                                                          problem: str) -> None:
    response = client.get(ROUTE, params=params, headers=FINANCE)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem in response.text


def test_past_the_reports_allowed_at_once_it_is_a_503_to_retry(client: TestClient,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    full = threading.BoundedSemaphore(1)
    full.acquire()
    monkeypatch.setattr(revenue_report, "_running", full)
    response = client.get(ROUTE, params=JANUARY, headers=FINANCE)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "being computed already" in response.json()["detail"]


def test_the_chart_is_an_svg_drawn_on_the_server_with_a_bar_per_day(client: TestClient) -> None:
    month = client.get(ROUTE, params=JANUARY, headers=FINANCE).json()
    inr = next(r for r in month["months"] if r["currency"] == "INR")
    response = client.get(ROUTE, params={**JANUARY, "format": "svg", "currency": "INR"}, headers=FINANCE)
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(response.text)
    bars = [e for e in svg.iter(f"{SVG}rect") if e.get("class") == "bar-recognised"]
    assert len(bars) == 31 and sum(int(b.get("data-minor", "0")) for b in bars) == inr["recognised"]
    assert svg.find(f"{SVG}polyline") is not None and svg.get("role") == "img"
    assert "<script" not in response.text and "http://" not in response.text.replace(f"xmlns=\"{SVG[1:-1]}\"", "")


@pytest.mark.parametrize("currency", ["inr", "INRR", "<x>", "", "ＩＮＲ", "free "])
def test_a_chart_of_a_currency_not_written_as_three_capitals_is_refused(client: TestClient, currency: str) -> None:
    response = client.get(ROUTE, params={**JANUARY, "format": "svg", "currency": currency}, headers=FINANCE)
    assert response.status_code == 422 and "currency" in response.text
