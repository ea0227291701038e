"""``GET /v1/admin/finance/revenue``: revenue, liability and breakage per day and month, for the finance role."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.http.deps import FinanceUser, ServiceDep
from api.http.problems import Problem
from api.http.schemas import problems
from api.http.web.revenue_chart import revenue_svg
from projections.finance.revenue import COLUMNS, MAX_DAYS, RevenueReport, check_range, parse_day
from service import revenue_report

router = APIRouter(prefix="/v1/admin/finance", tags=["admin-finance"])


class RevenueRowPublic(BaseModel):
    """One day or month in one currency (``free``: bonus credits, at zero revenue); money in minor units."""

    period: str = Field(description="YYYY-MM-DD for a day, YYYY-MM for a month (only its days in the range), UTC")
    currency: str
    opening_deferred: int
    sales: int
    recognised: int
    breakage: int
    refunds: int
    clawed_back: int
    closing_deferred: int
    difference: int = Field(description="opening + sales - recognised - breakage - refunds - clawed back - closing")
    opening_credits: int
    credits_granted: int
    credits_consumed: int
    credits_expired: int
    credits_clawed_back: int
    closing_credits: int
    credits_difference: int
    ties_out: bool


class RevenueReportPublic(BaseModel):
    """The report of ``[from, to)`` as of a ledger position; ``ok`` when every row ties out."""

    model_config = {"populate_by_name": True}
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    as_of_position: int
    ok: bool
    unit: str
    days: list[RevenueRowPublic]
    months: list[RevenueRowPublic]


def as_csv(report: RevenueReport) -> str:
    """The rows of the report as CSV, days then months, under the one header ``COLUMNS``."""
    out = io.StringIO()
    lines = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    lines.writeheader()
    lines.writerows([*report.days, *report.months])
    return out.getvalue()


@router.get("/revenue", response_model=RevenueReportPublic, response_model_by_alias=True,
            responses={**problems(401, 403, 422, 503), 200: {"content": {"text/csv": {}, "image/svg+xml": {}}}},
            operation_id="get_revenue_report")
def get_revenue(reader: FinanceUser, service: ServiceDep,
                start: Annotated[str, Query(alias="from", min_length=10, max_length=10,
                                            description="the first day, YYYY-MM-DD (UTC)")],
                end: Annotated[str, Query(alias="to", min_length=10, max_length=10,
                                          description=f"the day after the last, YYYY-MM-DD; at most {MAX_DAYS} days")],
                as_of_position: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                output: Annotated[Literal["json", "csv", "svg"], Query(alias="format")] = "json",
                currency: Annotated[str, Query(pattern=r"^([A-Z]{3}|free)$",
                                               description="format=svg: the currency charted")] = "INR") -> Response:
    """Deferred revenue, sales, revenue recognised, breakage and refunds per day and month and currency, from
    the ledger alone as of a position; each row proves opening + flows = closing (``ties_out``). ``format=svg``:
    the days of one ``currency`` as a chart (recognised and breakage as bars, deferred revenue as a line)."""
    try:
        first, after = parse_day(start), parse_day(end)
    except ValueError as error:
        raise Problem(422, "invalid-day", "Invalid day", str(error), field="query.from/to") from None
    try:
        check_range(first, after)
        report = revenue_report.report(service.ledger, start=first, end=after, position=as_of_position)
    except revenue_report.ReportsBusy as error:
        raise Problem(503, "reports-busy", "Reports busy", str(error), headers={"Retry-After": "5"}) from None
    except ValueError as error:
        raise Problem(422, "invalid-range", "Invalid range", str(error), field="query") from None
    if output == "csv":
        return Response(as_csv(report), media_type="text/csv; charset=utf-8")
    if output == "svg":
        return Response(revenue_svg(report.days, currency), media_type="image/svg+xml")
    body = RevenueReportPublic.model_validate(report.as_dict())
    return Response(body.model_dump_json(by_alias=True), media_type="application/json")
