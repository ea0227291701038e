"""Finance's margins: revenue recognised, provider cost and credits consumed per template, provider and day, as
JSON and as a chart. The `finance` role reads them (and touches nothing else); `admin` may too."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import FinanceUser, ServiceDep
from api.http.problems import Problem
from api.http.schemas import problems
from api.http.web.margin_chart import margin_chart
from projections.finance.margins import MarginReport, MissingRate, Rates, margins_report
from service.container import Service

router = APIRouter(prefix="/v1/admin/finance", tags=["admin-finance"])
DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Start = Annotated[str, Query(alias="from", pattern=DAY, max_length=10,
                             description="The first day (inclusive), YYYY-MM-DD, UTC")]
End = Annotated[str, Query(alias="to", pattern=DAY, max_length=10,
                           description="The day after the last (exclusive), YYYY-MM-DD, UTC")]
AsOf = Annotated[int | None, Query(ge=0, le=2**62, description="Count only the events up to this ledger position")]


class MarginRowPublic(BaseModel):
    """One day, template and provider (``day`` and ``provider`` empty on a template's or the grand total), in
    minor units of ``currency``; the provider cost also in micro-dollars."""

    day: str
    template_id: str
    provider: str
    currency: str
    generations: int
    completed: int
    failed: int
    charged_calls: int
    credits_consumed: int
    revenue_minor: int
    cost_micro_usd: int
    cost_minor: int
    margin_minor: int
    unknown_cost: int = Field(description="Generations with no recorded provider cost (not counted as free)")
    margin_percent: str = Field(description="Margin over revenue, one decimal; empty without revenue")


class MarginsPublic(BaseModel):
    """Margins of the days in ``[from, to)`` as of ledger ``position``."""

    model_config = ConfigDict(populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    position: int
    currency: str
    usd_rates: dict[str, str] = Field(description="Units of each currency one US dollar buys, as configured")
    unknown_cost: int
    days: list[MarginRowPublic]
    templates: list[MarginRowPublic]
    total: MarginRowPublic


@router.get("/margins", responses=problems(401, 403, 422), operation_id="get_admin_margins",
            response_model_by_alias=True)
def get_margins(reader: FinanceUser, service: ServiceDep, start: Start, end: End,
                as_of_position: AsOf = None) -> MarginsPublic:
    """Per day, template and provider, and per template: generations, charged calls, credits consumed, revenue
    recognised, provider cost and margin in the reporting currency, replayed from the ledger."""
    return MarginsPublic.model_validate(_report(service, start, end, as_of_position).as_dict())


@router.get("/margins/chart", responses={**problems(401, 403, 422), 200: {"content": {"image/svg+xml": {}}}},
            response_class=Response, operation_id="get_admin_margins_chart")
def get_margins_chart(reader: FinanceUser, service: ServiceDep, request: Request, start: Start, end: End,
                      as_of_position: AsOf = None,
                      lang: Annotated[Literal["en", "hi"], Query(description="The chart's words")] = "en") -> Response:
    """The margins per template as an SVG chart: revenue recognised and provider cost side by side."""
    report = _report(service, start, end, as_of_position)
    said = request.app.state.studio.messages[lang]
    words = {"revenue": said["console_margins_col_revenue"], "cost": said["console_margins_col_cost"],
             "margin": said["console_margins_col_margin"], "empty": said["console_margins_empty"]}
    title = f"{said['console_margins_chart']}: {report.start.isoformat()}/{report.end.isoformat()}"  # ISO 8601
    svg = margin_chart(report.templates, report.rates.currency, title=title, words=words)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _report(service: Service, start: str, end: str, position: int | None) -> MarginReport:
    first, after = _day(start, "from"), _day(end, "to")
    rates = Rates(service.finance.finance_currency, service.finance.usd_rates())
    try:
        return margins_report(service.ledger, first, after, rates, position=position)
    except MissingRate as error:
        raise Problem(422, "missing-exchange-rate", "No exchange rate", str(error)) from None
    except ValueError as error:
        field = "as_of_position" if "position" in str(error) else "from"
        raise Problem(422, "invalid-range", "Invalid range", str(error), field=field) from None


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Problem(422, "invalid-day", "Invalid day", f"{text!r} is not a calendar day", field=field) from None
