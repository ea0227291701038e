"""The operators' report routes: the queue of reported images, taking one down or dismissing its reports, and a
learner's sharing (lost after too many takedowns) restored.

The `moderation` role reviews reports and nothing else (no wallet, no template); `admin` may too. Every decision
records who (the token's user) and why; a repeat of the same decision changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query

from api.http.deps import CommandsDep, Moderator, ServiceDep, Visible
from api.http.report_schemas import (
    DismissRequest,
    ReportCasePublic,
    ReportPublic,
    ReportsDecided,
    SharingRestore,
    StandingPublic,
    TakedownRequest,
)
from api.http.routers.generations import share_url
from api.http.routers.media import signed
from api.http.schemas import problems
from ledger.names import check_user_id
from projections.reports import ReportStatus, report_queue, standing, suspended_learners
from service import reports
from service.container import Service

router = APIRouter(prefix="/v1/admin", tags=["admin-reports"])
STATUS = "open (the queue), dismissed, upheld, or closed (the image was deleted before anyone decided)"
UserId = Path(min_length=1, max_length=200, description="the learner's user id")


@router.get("/reports", responses=problems(401, 403, 409, 503), operation_id="list_admin_reports")
def list_reports(moderator: Moderator, service: ServiceDep, position: Visible,
                 status: Annotated[ReportStatus, Query(description=STATUS)] = ReportStatus.OPEN,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ReportCasePublic]:
    """The reported images, most reported first: the image, its template, the learner's words, how often and why
    it was reported, and each report."""
    with service.reads.connect() as conn:
        rows = report_queue(conn, status=status, limit=limit)
    return [_case(service, row) for row in rows]


def _case(service: Service, row: Any) -> ReportCasePublic:
    details = [ReportPublic.model_validate(dict(d)) for d in row["details"]]
    categories: dict[str, int] = {}
    for d in details:
        categories[d.category] = categories.get(d.category, 0) + 1
    return ReportCasePublic(
        generation_id=row["generation_id"], user_id=row["user_id"], reports=row["reports"], categories=categories,
        last_reported_at=row["last_reported_at"], template_id=row["template_id"],
        template_version=row["template_version"], template_title=row["template_title"] or "",
        title=row["title"] or "", variables=row["variables"] or {}, image_url=signed(service, row["image_url"]),
        share_url=share_url(service, row["share_token"]), details=details)


@router.post("/reports/{generation_id}/takedown", responses=problems(401, 403, 404, 409, 422),
             operation_id="take_down_reported_image")
async def take_down(generation_id: UUID, body: TakedownRequest, moderator: Moderator, service: ServiceDep,
                    commands: CommandsDep) -> ReportsDecided:
    """Take the image down: its share link and every URL of it stop working (deleted from the image store), its
    owner sees why in their gallery, and it counts towards the owner losing sharing."""
    assert service.images is not None
    outcome = await reports.take_down(
        service.ledger, service.images, generation_id=generation_id, category=body.category, note=body.note,
        by=moderator.user_id, at=service.clock(), suspend_after=service.policy.share.suspend_after_takedowns,
        lane=service.limits.commands, run=commands.run)
    return ReportsDecided(generation_id=generation_id, decision="takedown", repeated=outcome.repeated,
                          position=outcome.position)


@router.post("/reports/{generation_id}/dismiss", responses=problems(401, 403, 404, 409, 422),
             operation_id="dismiss_image_reports")
def dismiss(generation_id: UUID, body: DismissRequest, moderator: Moderator, service: ServiceDep,
            commands: CommandsDep) -> ReportsDecided:
    """Keep the image and close its open reports (new reports may come later)."""
    outcome = reports.dismiss_reports(service.ledger, generation_id=generation_id, note=body.note,
                                      by=moderator.user_id, at=service.clock(), run=commands.run)
    return ReportsDecided(generation_id=generation_id, decision="dismiss", repeated=outcome.repeated,
                          position=outcome.position)


@router.get("/learners/suspended", responses=problems(401, 403, 409, 503), operation_id="list_suspended_learners")
def list_suspended(moderator: Moderator, service: ServiceDep, position: Visible) -> list[StandingPublic]:
    """The learners who lost sharing to takedowns, most recent first (restore each with a reason)."""
    with service.reads.connect() as conn:
        rows = suspended_learners(conn)
    return [StandingPublic(user_id=r["user_id"], upheld=r["upheld"], suspended=True) for r in rows]


@router.get("/learners/{user_id}/sharing", responses=problems(401, 403, 409, 422, 503),
            operation_id="get_learner_sharing")
def get_sharing(moderator: Moderator, service: ServiceDep, position: Visible,
                user_id: str = UserId) -> StandingPublic:
    """Whether the learner may share, and the takedowns upheld against them since it was last restored."""
    check_user_id(user_id)
    with service.reads.connect() as conn:
        row = standing(conn, user_id)
    if row is None:
        return StandingPublic(user_id=user_id, upheld=0, suspended=False)
    return StandingPublic(user_id=user_id, upheld=row["upheld"], suspended=row["suspended"])


@router.post("/learners/{user_id}/sharing/restore", responses=problems(401, 403, 409, 422),
             operation_id="restore_learner_sharing")
def restore_sharing(body: SharingRestore, moderator: Moderator, service: ServiceDep, commands: CommandsDep,
                    user_id: str = UserId) -> StandingPublic:
    """Give a learner who lost sharing to takedowns their sharing back, saying why (409 for one who never lost
    it)."""
    check_user_id(user_id)
    outcome = reports.restore_sharing(service.ledger, user_id=user_id, reason=body.reason, by=moderator.user_id,
                                      at=service.clock(), run=commands.run)
    return StandingPublic(user_id=user_id, upheld=0, suspended=False, position=outcome.position)
