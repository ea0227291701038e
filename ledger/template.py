"""The Template aggregate: a ready-made image recipe operators draft, publish as immutable versions,
retire and restore, each change with who made it and why.

The ledger keeps a template's fields as plain data (the catalogue file's fields as JSON); what they
mean and whether they are valid is the catalog's business (``media.templates``), checked
before a command reaches the ledger.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidCommand, InvalidTransition
from ledger.values import GENESIS_HASH, digest, event_hash, template_uuid


class TemplateStatus(StrEnum):
    """Where a template stands: drafted and never published, published (learners see it), retired."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Template(Aggregate):
    """One template's drafts and published versions, with who changed it and why."""

    class Event(Aggregate.Event):
        """A template event: which template, who made the change and why, and the hash of its previous event."""

        template_id: str
        by: str
        reason: str
        prev_hash: str

        def apply(self, aggregate: Any) -> None:
            self.apply_to(aggregate)
            aggregate.last_hash = event_hash(self)

        def apply_to(self, template: Template) -> None:
            """Evolve the template's state; overridden by each event."""

    class TemplateDrafted(Aggregate.Created):
        template_id: str
        spec: dict[str, Any]
        digest: str
        by: str
        reason: str
        prev_hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = event_hash(self)

    class TemplateDraftEdited(Event):
        spec: dict[str, Any]
        digest: str

        def apply_to(self, template: Template) -> None:
            template.draft = self.spec
            template.draft_digest = self.digest

    class TemplatePublished(Event):
        version: int
        spec: dict[str, Any]
        digest: str
        effective_at: datetime

        def apply_to(self, template: Template) -> None:
            template.versions.append({"version": self.version, "spec": self.spec, "digest": self.digest,
                                      "effective_at": self.effective_at})
            template.draft = None
            template.draft_digest = ""
            if template.status == TemplateStatus.DRAFT:
                template.status = TemplateStatus.PUBLISHED

    class TemplateRetired(Event):
        def apply_to(self, template: Template) -> None:
            template.status = TemplateStatus.RETIRED

    class TemplateRestored(Event):
        def apply_to(self, template: Template) -> None:
            template.status = TemplateStatus.PUBLISHED

    def __init__(self, template_id: str, spec: dict[str, Any], digest: str, by: str, reason: str,
                 prev_hash: str) -> None:
        self.template_id = template_id
        self.draft: dict[str, Any] | None = spec
        self.draft_digest = digest
        self.versions: list[dict[str, Any]] = []
        self.status = TemplateStatus.DRAFT
        self.last_hash = GENESIS_HASH

    @classmethod
    def create(cls, *, template_id: str, spec: dict[str, Any], by: str, reason: str, at: datetime) -> Template:
        """Record the first draft of a new template."""
        check_change(by, reason)
        return cls._create(cls.TemplateDrafted, id=template_uuid(template_id), template_id=template_id, spec=spec,
                           digest=digest(spec), by=by, reason=reason, prev_hash=GENESIS_HASH, timestamp=at)

    @property
    def latest(self) -> dict[str, Any] | None:
        """The newest published version (whenever it takes effect), or None."""
        return self.versions[-1] if self.versions else None

    def edit(self, *, spec: dict[str, Any], by: str, reason: str, at: datetime) -> bool:
        """Replace the draft; False when ``spec`` is already the draft, or the newest version with no draft."""
        check_change(by, reason)
        fingerprint = digest(spec)
        latest = self.latest
        if fingerprint == self.draft_digest or (self.draft is None and latest and latest["digest"] == fingerprint):
            return False
        self._trigger(self.TemplateDraftEdited, at, by=by, reason=reason, spec=spec, digest=fingerprint)
        return True

    def publish(self, *, by: str, reason: str, at: datetime, effective_at: datetime | None = None) -> int:
        """Make the draft a new immutable version, effective at ``effective_at`` (now when None); its number."""
        check_change(by, reason)
        if self.status == TemplateStatus.RETIRED:
            raise InvalidTransition(f"template {self.template_id} is retired: restore it before publishing")
        if self.draft is None:
            raise InvalidTransition(f"template {self.template_id} has no draft to publish")
        effective = effective_at or at
        if effective.tzinfo is None:
            raise InvalidCommand(f"effective_at {effective} has no time zone")
        if effective < at:
            raise InvalidCommand(f"effective_at {effective.isoformat()} is in the past: a version takes effect "
                                 "now or later, so requests already made keep the version they had")
        latest = self.latest
        if latest is not None and effective < latest["effective_at"]:
            raise InvalidCommand(f"effective_at {effective.isoformat()} is before version {latest['version']} "
                                 f"takes effect ({latest['effective_at'].isoformat()})")
        number = len(self.versions) + 1
        self._trigger(self.TemplatePublished, at, by=by, reason=reason, version=number, spec=self.draft,
                      digest=self.draft_digest, effective_at=effective)
        return number

    def retire(self, *, by: str, reason: str, at: datetime) -> bool:
        """Take the template out of the studio (its images stay); False when it already is retired."""
        check_change(by, reason)
        if self.status == TemplateStatus.DRAFT:
            raise InvalidTransition(f"template {self.template_id} was never published: there is nothing to retire")
        if self.status == TemplateStatus.RETIRED:
            return False
        self._trigger(self.TemplateRetired, at, by=by, reason=reason)
        return True

    def restore(self, *, by: str, reason: str, at: datetime) -> bool:
        """Bring a retired template back to the studio; False when it is not retired."""
        check_change(by, reason)
        if self.status == TemplateStatus.DRAFT:
            raise InvalidTransition(f"template {self.template_id} was never published: there is nothing to restore")
        if self.status == TemplateStatus.PUBLISHED:
            return False
        self._trigger(self.TemplateRestored, at, by=by, reason=reason)
        return True

    def version_at(self, at: datetime) -> dict[str, Any] | None:
        """The version in effect at ``at``: the newest one effective by then, or None."""
        found = [v for v in self.versions if v["effective_at"] <= at]
        return found[-1] if found else None

    def _trigger(self, event_class: type[Aggregate.Event], at: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=at, template_id=self.template_id, prev_hash=self.last_hash,
                           **fields)


def check_change(by: str, reason: str) -> None:
    """Refuse a change that does not say who made it and why."""
    if not by.strip():
        raise InvalidCommand("a template change must name who made it (by)")
    if not reason.strip():
        raise InvalidCommand("a template change must say why (reason)")
