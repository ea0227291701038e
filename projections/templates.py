"""`templates` and `template_versions`: each template's status and draft, and every published version's
fields, from the template events; what the catalog of every API replica and worker reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Connection, Integer, String, Table, Text, case, func, select, update

from ledger.event_store.follow import Stored
from ledger.template import Template, TemplateStatus
from projections.base import Write
from projections.db import UTCDateTime, metadata, tracking
from projections.generations import generations

templates = Table(
    "templates",
    metadata,
    Column("template_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("draft", JSON, nullable=True),  # the fields of the draft, None when there is none
    Column("latest_version", Integer, nullable=False, default=0),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("position", BigInteger, nullable=False),
)

template_versions = Table(
    "template_versions",
    metadata,
    Column("template_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("fields", JSON, nullable=False),
    Column("effective_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("published_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("position", BigInteger, nullable=False),
)


class Templates:
    """One row per template and one per published version."""

    name = "templates"
    tables = (templates, template_versions)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's template events as writes, in order; other events are ignored."""
        writes: list[Write] = []
        for stored in page:
            event = stored.event
            if not isinstance(event, Template.TemplateDrafted | Template.Event):
                continue
            values: dict[str, Any] = {"updated_by": event.by, "updated_at": event.timestamp,
                                      "position": stored.position}
            if isinstance(event, Template.TemplateDrafted):
                writes.append((templates.insert(), [{"template_id": event.template_id, "status": TemplateStatus.DRAFT,
                                                     "draft": event.spec, "latest_version": 0, **values}]))
                continue
            if isinstance(event, Template.TemplateDraftEdited):
                values["draft"] = event.spec
            elif isinstance(event, Template.TemplatePublished):
                writes.append((template_versions.insert(), [{
                    "template_id": event.template_id, "version": event.version, "fields": event.spec,
                    "effective_at": event.effective_at, "published_at": event.timestamp, "published_by": event.by,
                    "reason": event.reason, "position": stored.position}]))
                values.update(draft=None, latest_version=event.version)
                if event.version == 1:
                    values["status"] = TemplateStatus.PUBLISHED
            elif isinstance(event, Template.TemplateRetired):
                values["status"] = TemplateStatus.RETIRED
            elif isinstance(event, Template.TemplateRestored):
                values["status"] = TemplateStatus.PUBLISHED
            writes.append((update(templates).where(templates.c.template_id == event.template_id)
                           .values(**values), {}))
        return writes


def catalog_rows(conn: Connection) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """The templates projection's position, its template rows and every published version, oldest first."""
    position = conn.execute(select(tracking.c.position).where(tracking.c.name == Templates.name)).scalar()
    rows = [dict(r) for r in conn.execute(select(templates).order_by(templates.c.template_id)).mappings()]
    versions = [dict(r) for r in conn.execute(select(template_versions).order_by(
        template_versions.c.template_id, template_versions.c.version)).mappings()]
    return int(position or 0), rows, versions


def projected_position(conn: Connection) -> int:
    """How far the templates projection has reached."""
    return int(conn.execute(select(tracking.c.position).where(tracking.c.name == Templates.name)).scalar() or 0)


def template_usage(conn: Connection, since: datetime) -> dict[str, dict[str, int]]:
    """Per template, since ``since``: generations requested, those that failed, and the credits captured."""
    query = (select(generations.c.template_id, func.count(),
                    func.sum(case((generations.c.status == "failed", 1), else_=0)),
                    func.coalesce(func.sum(generations.c.captured), 0))
             .where(generations.c.requested_at >= since).group_by(generations.c.template_id))
    return {template_id: {"generations": int(n), "failed": int(failed or 0), "credits": int(spent)}
            for template_id, n, failed, spent in conn.execute(query)}


def template_rows(conn: Connection, template_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One template's row and its published versions, oldest first."""
    row = conn.execute(select(templates).where(templates.c.template_id == template_id)).mappings().first()
    versions = conn.execute(select(template_versions).where(template_versions.c.template_id == template_id)
                            .order_by(template_versions.c.version)).mappings().all()
    return (dict(row) if row else None), [dict(v) for v in versions]
