"""The template commands' steps: drafting, publishing, retiring and restoring a template in one unit of work.

A step that changes nothing marks its unit as a repeat of the template's last event, so its
outcome names a position that already exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.errors import TemplateNotFound
from ledger.template import Template
from ledger.unit import Unit
from ledger.values import template_uuid


def existing_template(unit: Unit, template_id: str) -> Template:
    """The template ``template_id`` in this unit of work, or ``TemplateNotFound``."""
    found = unit.get(template_uuid(template_id))
    if not isinstance(found, Template):
        raise TemplateNotFound(f"no template {template_id!r}")
    return found


def save_draft(unit: Unit, template_id: str, *, spec: dict[str, Any], by: str, reason: str, at: datetime) -> bool:
    """Create the template with this draft, or replace its draft; whether anything changed."""
    found = unit.get(template_uuid(template_id))  # rare: read from the store, not assumed new
    if found is None:
        unit.add(Template.create(template_id=template_id, spec=spec, by=by, reason=reason, at=at))
        return True
    template = existing_template(unit, template_id)
    if template.edit(spec=spec, by=by, reason=reason, at=at):
        return True
    unit.repeat_of(template.id, template.version)
    return False


def publish_draft(unit: Unit, template_id: str, *, by: str, reason: str, at: datetime,
                  effective_at: datetime | None) -> int:
    """Publish the template's draft as its next version; the version's number."""
    return existing_template(unit, template_id).publish(by=by, reason=reason, at=at, effective_at=effective_at)


def import_spec(unit: Unit, template_id: str, *, spec: dict[str, Any], by: str, reason: str,
                at: datetime) -> int | None:
    """Draft and publish ``spec`` unless it is already the newest version; the new version, or None."""
    save_draft(unit, template_id, spec=spec, by=by, reason=reason, at=at)
    if existing_template(unit, template_id).draft is None:  # the newest version already is this spec
        return None
    return publish_draft(unit, template_id, by=by, reason=reason, at=at, effective_at=None)


def retire_template(unit: Unit, template_id: str, *, by: str, reason: str, at: datetime) -> bool:
    """Retire a published template; whether it changed."""
    template = existing_template(unit, template_id)
    if template.retire(by=by, reason=reason, at=at):
        return True
    unit.repeat_of(template.id, template.version)
    return False


def restore_template(unit: Unit, template_id: str, *, by: str, reason: str, at: datetime) -> bool:
    """Restore a retired template; whether it changed."""
    template = existing_template(unit, template_id)
    if template.restore(by=by, reason=reason, at=at):
        return True
    unit.repeat_of(template.id, template.version)
    return False
