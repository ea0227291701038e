"""`GET /v1/admin/finance/margins` and its chart: the hand-computed month for the finance and admin roles, no one
else; every bad day, range or position a 422 problem naming it; the chart is SVG that runs nothing."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from service.container import Service
from service.settings.finance import FinanceSettings
from tests.support.http import bearer, client_for, service_for
from tests.support.margins_month import RATES, margins_month

pytestmark = pytest.mark.e2e
FINANCE, ADMIN = bearer("fiona", "finance"), bearer("ada", "admin")
MARCH = {"from": "2026-03-01", "to": "2026-04-01"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = service_for("sqlite", tmp_path_factory.mktemp("margins"), with_pipeline=False)
    service.finance = FinanceSettings(finance_usd_rates=RATES)
    margins_month(service.ledger)
    return service


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with client_for(service) as client:
        yield client


def test_the_finance_role_reads_the_hand_computed_month(client: TestClient) -> None:
    answer = client.get("/v1/admin/finance/margins", params=MARCH, headers=FINANCE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"], body["currency"], body["usd_rates"], body["unknown_cost"]) == (
        "2026-03-01", "2026-04-01", "INR", {"INR": "84"}, 1)
    assert {t["template_id"]: (t["revenue_minor"], t["cost_minor"], t["margin_minor"]) for t in body["templates"]} == {
        "avatar": (10000, 672, 9328), "poster": (18316, 604, 17712)}
    assert len(body["days"]) == 4 and body["total"]["margin_percent"] == "95.5"
    assert client.get("/v1/admin/finance/margins", params=MARCH, headers=ADMIN).json() == body


@pytest.mark.parametrize(("headers", "status"), [({}, 401), (bearer("tess", "templates"), 403),
                                                 (bearer("mia", "moderation"), 403), (bearer("alice"), 403)])
def test_no_one_else_reads_margins(client: TestClient, headers: dict[str, str], status: int) -> None:
    for path in ("/v1/admin/finance/margins", "/v1/admin/finance/margins/chart"):
        assert client.get(path, params=MARCH, headers=headers).status_code == status


@pytest.mark.parametrize("params", [
    {"from": "2026-03-01"}, {"to": "2026-04-01"}, {"from": "2026-3-1", "to": "2026-04-01"},
    {"from": "2026-02-30", "to": "2026-04-01"}, {"from": "２０２６-03-01", "to": "2026-04-01"},
    {"from": "2026-03-01\n", "to": "2026-04-01"}, {"from": "2026-04-01", "to": "2026-03-01"},
    {"from": "2026-03-01", "to": "2026-03-01"}, {"from": "2020-01-01", "to": "2026-04-01"},
    {"from": "2026-03-01" * 1000, "to": "2026-04-01"}, {**MARCH, "as_of_position": "-1"},
    {**MARCH, "as_of_position": "99999999"}, {**MARCH, "as_of_position": "1e3"},
    {**MARCH, "as_of_position": str(2**64)},
])
def test_bad_days_ranges_and_positions_are_422_problems(client: TestClient, params: dict[str, str]) -> None:
    for path in ("/v1/admin/finance/margins", "/v1/admin/finance/margins/chart"):
        answer = client.get(path, params=params, headers=FINANCE)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_currency_without_a_rate_is_a_problem_naming_the_setting(client: TestClient, service: Service) -> None:
    kept = service.finance
    service.finance = FinanceSettings(finance_currency="USD", finance_usd_rates="EUR=0.9")
    try:
        answer = client.get("/v1/admin/finance/margins", params=MARCH, headers=FINANCE)
    finally:
        service.finance = kept
    assert answer.status_code == 422 and "STUDIO_FINANCE_USD_RATES" in answer.json()["detail"]


def test_the_chart_is_svg_with_a_bar_pair_per_template_and_nothing_that_runs(client: TestClient) -> None:
    answer = client.get("/v1/admin/finance/margins/chart", params=MARCH, headers=FINANCE)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(answer.text)
    ns = "{http://www.w3.org/2000/svg}"
    groups = svg.findall(f"{ns}g")
    assert [g.get("data-template") for g in groups] == ["avatar", "poster"]
    assert all(len(g.findall(f"{ns}rect")) == 2 for g in groups)
    assert "Margin INR 177.12 (96.7 %)" in answer.text and "INR 183.16" in answer.text
    hindi = client.get("/v1/admin/finance/margins/chart", params={**MARCH, "lang": "hi"}, headers=FINANCE).text
    assert "मार्जिन INR 177.12" in hindi and "प्रदाता खर्च" in hindi
    assert client.get("/v1/admin/finance/margins/chart", params={**MARCH, "lang": "xx"},
                      headers=FINANCE).status_code == 422
    for node in svg.iter():
        assert node.tag not in (f"{ns}script", f"{ns}foreignObject") and "style" not in node.attrib
        assert not any(name.startswith("on") for name in node.attrib)
    empty = client.get("/v1/admin/finance/margins/chart", params={"from": "2027-01-01", "to": "2027-02-01"},
                       headers=FINANCE)
    assert "No generations ended between these days." in empty.text
