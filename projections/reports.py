"""`reports` and `standings`: the reports of shared images, open until an operator dismisses or upholds them,
and each learner's takedowns counted since sharing was last restored."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from ledger.event_store.follow import Stored
from ledger.generation import Generation
from ledger.standing import Standing
from projections.base import Write
from projections.db import UTCDateTime, metadata
from projections.generations import gallery, generations


class ReportStatus(StrEnum):
    """Where a report stands: awaiting review, dismissed (the image kept), or upheld (the image taken down)."""

    OPEN = "open"
    DISMISSED = "dismissed"
    UPHELD = "upheld"
    CLOSED = "closed"  # the image was deleted (by its owner, retention or erasure) before anyone decided


reports = Table(
    "reports",
    metadata,
    Column("generation_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),  # the report's event in the generation's life
    Column("category", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("token", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Index("ix_reports_status", "status", "generation_id"),
)

standings = Table(
    "standings",
    metadata,
    Column("standing_id", Uuid, primary_key=True),
    Column("user_id", String(200), nullable=False, unique=True),
    Column("upheld", Integer, nullable=False),
    Column("suspended", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


class Reports:
    """One row per report; dismissing or upholding the reports of an image closes every open one."""

    name = "reports"
    tables = (reports, standings)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's report, takedown and standing events as writes; other events are ignored."""
        writes: list[Write] = []
        for stored in page:
            event = stored.event
            if isinstance(event, Generation.GenerationReported):
                writes.append((reports.insert(), [{
                    "generation_id": event.originator_id, "version": event.originator_version,
                    "category": event.category, "text": event.text, "token": event.token,
                    "status": ReportStatus.OPEN, "reported_at": event.timestamp}]))
            elif isinstance(event, Generation.GenerationReportsDismissed | Generation.GenerationTakenDown):
                status = (ReportStatus.UPHELD if isinstance(event, Generation.GenerationTakenDown)
                          else ReportStatus.DISMISSED)
                writes.append((update(reports).where(
                    (reports.c.generation_id == event.originator_id) & (reports.c.status == ReportStatus.OPEN))
                    .values(status=status, decided_by=event.by, note=event.note, decided_at=event.timestamp), {}))
            elif isinstance(event, Generation.GenerationImageDeleted):  # nothing left to review
                writes.append((update(reports).where(
                    (reports.c.generation_id == event.originator_id) & (reports.c.status == ReportStatus.OPEN))
                    .values(status=ReportStatus.CLOSED, decided_at=event.timestamp, note=event.reason), {}))
            elif isinstance(event, Standing.StandingOpened):
                writes.append((standings.insert(), [{"standing_id": event.originator_id, "user_id": event.user_id,
                                                     "upheld": 0, "suspended": False,
                                                     "updated_at": event.timestamp}]))
            elif isinstance(event, Standing.TakedownUpheld | Standing.SharingSuspended | Standing.SharingRestored):
                writes.append((update(standings).where(standings.c.standing_id == event.originator_id)
                               .values(updated_at=event.timestamp, **_standing(event)), {}))
        return writes


def _standing(event: Any) -> dict[str, Any]:
    if isinstance(event, Standing.TakedownUpheld):
        return {"upheld": event.upheld}
    if isinstance(event, Standing.SharingSuspended):
        return {"suspended": True}
    if isinstance(event, Standing.SharingRestored):
        return {"suspended": False, "upheld": 0}
    return {}


def report_queue(conn: Connection, *, status: ReportStatus, limit: int) -> list[dict[str, Any]]:
    """The reported images with reports in ``status``, most reported first: how often, why, and what was said,
    with the image, its template and the learner's words (gone once the image is deleted)."""
    counted = (select(reports.c.generation_id, func.count().label("reports"),
                      func.max(reports.c.reported_at).label("last_reported_at"))
               .where(reports.c.status == status).group_by(reports.c.generation_id).subquery())
    rows = conn.execute(
        select(counted, generations.c.user_id, generations.c.template_id, generations.c.template_version,
               generations.c.variables, generations.c.image_url, gallery.c.template_title, gallery.c.title,
               generations.c.share_token)
        .join(generations, generations.c.generation_id == counted.c.generation_id)
        .join(gallery, gallery.c.generation_id == counted.c.generation_id, isouter=True)
        .order_by(counted.c.reports.desc(), counted.c.last_reported_at.desc()).limit(limit)).mappings().all()
    return [{**row, "details": report_details(conn, row["generation_id"], status)} for row in rows]


def report_details(conn: Connection, generation_id: Any, status: ReportStatus) -> list[RowMapping]:
    """The reports of one image in ``status``, newest first."""
    return list(conn.execute(select(reports).where((reports.c.generation_id == generation_id)
                                                   & (reports.c.status == status))
                             .order_by(reports.c.version.desc())).mappings())


def standing(conn: Connection, user_id: str) -> RowMapping | None:
    """The standing of ``user_id`` (takedowns upheld, whether sharing is suspended), or None."""
    return conn.execute(select(standings).where(standings.c.user_id == user_id)).mappings().first()


def suspended_learners(conn: Connection) -> list[RowMapping]:
    """The learners who lost sharing to takedowns, most recent first."""
    return list(conn.execute(select(standings).where(standings.c.suspended.is_(True))
                             .order_by(standings.c.updated_at.desc())).mappings())
