"""The operators' use cases for templates: every template with its status and usage, a draft created or
replaced, previewed, published after the checks a learner needs (``service.template_checks``), retired,
restored. Each change records who made it and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ledger import Ledger, Outcome, TemplateNotFound
from ledger.errors import InvalidTransition
from media.templates import Template, TemplateCatalog, TemplateError, parse_template, template_fields
from projections.templates import catalog_rows, template_rows, template_usage
from service.commands import Run, direct
from service.errors import TemplateRefused
from service.template_checks import Rendering, publish_problems, sample_values

USAGE_DAYS = 7


@dataclass(frozen=True)
class TemplateOverview:
    """One template as operators see it: its status, versions, and the last days' usage."""

    template_id: str
    title: str
    status: str
    current_version: int | None  # the version learners get now
    latest_version: int
    has_draft: bool
    updated_by: str
    updated_at: datetime
    generations_per_day: float
    failure_rate: float
    credits_spent: int


def overview(conn: Connection, catalog: TemplateCatalog, at: datetime) -> list[TemplateOverview]:
    """Every template in the ledger, with its usage over the last ``USAGE_DAYS`` days."""
    _, rows, versions = catalog_rows(conn)
    usage = template_usage(conn, at - timedelta(days=USAGE_DAYS))
    titles = {(v["template_id"], v["version"]): v["fields"].get("title", "") for v in versions}
    found = []
    for row in rows:
        template_id = row["template_id"]
        try:
            current: int | None = catalog.get(template_id).version
        except LookupError:  # retired, or no version in effect yet
            current = None
        used = usage.get(template_id, {"generations": 0, "failed": 0, "credits": 0})
        draft_title = (row["draft"] or {}).get("title", "")
        found.append(TemplateOverview(
            template_id=template_id, title=titles.get((template_id, row["latest_version"]), draft_title),
            status=row["status"], current_version=current, latest_version=row["latest_version"],
            has_draft=row["draft"] is not None, updated_by=row["updated_by"], updated_at=row["updated_at"],
            generations_per_day=round(used["generations"] / USAGE_DAYS, 2),
            failure_rate=round(used["failed"] / used["generations"], 3) if used["generations"] else 0.0,
            credits_spent=used["credits"]))
    return found


def detail(conn: Connection, template_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A template's row (status, draft) and its published versions; ``TemplateNotFound`` when none."""
    row, versions = template_rows(conn, template_id)
    if row is None:
        raise TemplateNotFound(f"no template {template_id!r}")
    return row, versions


def parse_draft(template_id: str, fields: dict[str, Any], *, version: int = 1) -> Template:
    """The template ``fields`` make under ``template_id``; ``TemplateRefused`` naming each field otherwise."""
    if fields.get("id", template_id) != template_id:
        raise TemplateRefused([("id", f"{fields['id']!r} is not the template of this address, {template_id!r}")])
    try:
        return parse_template({**template_fields(fields), "id": template_id, "version": version},
                              where=f"template {template_id}")
    except TemplateError as error:
        raise TemplateRefused(error.problems) from error


def save_draft(ledger: Ledger, *, template_id: str, fields: dict[str, Any], by: str, reason: str, at: datetime,
               run: Run = direct) -> Outcome:
    """Create the template with this draft, or replace its draft (checked as a template first); value:
    whether it changed."""
    parse_draft(template_id, fields)
    spec = {**template_fields(fields), "id": template_id}
    return run("draft_template", lambda: ledger.draft_template(template_id=template_id, spec=spec, by=by,
                                                               reason=reason, at=at))


def draft_of(ledger: Ledger, template_id: str) -> Template:
    """The template's draft, or its newest version when it has no draft; ``TemplateNotFound`` when none."""
    stored = ledger.template(template_id)
    if stored is None:
        raise TemplateNotFound(f"no template {template_id!r}")
    latest = stored.latest
    if stored.draft is not None:
        return parse_draft(template_id, stored.draft, version=len(stored.versions) + 1)
    assert latest is not None  # a template is drafted when created: no draft means a version
    return parse_draft(template_id, latest["spec"], version=latest["version"])


def preview_values(template: Template, *, lang: str, style: str | None) -> dict[str, str]:
    """The sample values a preview shows, in ``lang``, in ``style``; ``TemplateRefused`` for a style the
    template does not have."""
    name = template.layout.style_variable
    choices = next((v.choices for v in template.variables if v.name == name), ())
    if style is not None and style not in choices:
        raise TemplateRefused([("style", f"{style!r} is not a style of {template.id}: use one of {list(choices)}")])
    return sample_values(template, lang, style)


def publish(ledger: Ledger, *, template_id: str, by: str, reason: str, at: datetime,
            effective_at: datetime | None, max_cost: int, rendering: Rendering, run: Run = direct) -> Outcome:
    """Publish the draft as the next version after every check a learner needs; ``TemplateRefused`` naming
    each field that fails one; value: the version."""
    stored = ledger.template(template_id)
    if stored is None:
        raise TemplateNotFound(f"no template {template_id!r}")
    if stored.draft is None:
        raise InvalidTransition(f"template {template_id} has no draft to publish: PUT one first")
    problems = publish_problems(draft_of(ledger, template_id), max_cost=max_cost, rendering=rendering)
    if problems:
        raise TemplateRefused(problems)
    return run("publish_template", lambda: ledger.publish_template(
        template_id=template_id, by=by, reason=reason, at=at, effective_at=effective_at))


def retire(ledger: Ledger, *, template_id: str, by: str, reason: str, at: datetime, run: Run = direct) -> Outcome:
    """Take a template out of the studio (its images stay); value: whether it changed."""
    return run("retire_template", lambda: ledger.retire_template(template_id=template_id, by=by, reason=reason,
                                                                 at=at))


def restore(ledger: Ledger, *, template_id: str, by: str, reason: str, at: datetime, run: Run = direct) -> Outcome:
    """Bring a retired template back; value: whether it changed."""
    return run("restore_template", lambda: ledger.restore_template(template_id=template_id, by=by, reason=reason,
                                                                   at=at))
