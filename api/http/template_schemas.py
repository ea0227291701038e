"""Request and response bodies of the operators' template routes (``/v1/admin/templates``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateSummaryPublic(BaseModel):
    """A template as operators list it: its status, versions and the last 7 days' usage."""

    template_id: str
    title: str
    status: str = Field(description="draft (never published), published or retired")
    current_version: int | None = Field(description="the version learners get now; null when retired or none yet")
    latest_version: int = Field(description="the newest published version (0: none)")
    has_draft: bool
    updated_by: str
    updated_at: datetime
    generations_per_day: float = Field(description="over the last 7 days")
    failure_rate: float = Field(description="failed / requested over the last 7 days")
    credits_spent: int = Field(description="credits captured over the last 7 days")


class TemplateVersionPublic(BaseModel):
    """One published version: its fields as published, when it takes effect, who published it and why."""

    version: int
    fields: dict[str, Any]
    effective_at: datetime
    published_at: datetime
    published_by: str
    reason: str


class TemplateDetailPublic(BaseModel):
    """A template's status, its draft (null when none) and every published version."""

    template_id: str
    status: str
    draft: dict[str, Any] | None
    versions: list[TemplateVersionPublic]


class TemplateChange(_In):
    """Why: every change to a template records it, with who made it (the token's user)."""

    reason: str = Field(min_length=1, max_length=500)


class TemplatePublish(TemplateChange):
    """Publish the draft, now or from a later instant (requests before it keep the current version)."""

    effective_at: AwareDatetime | None = Field(default=None, description="when the version takes effect "
                                               "(default: now); not in the past")


class TemplateChanged(BaseModel):
    """What a change did, and the ledger position to read it at."""

    template_id: str
    changed: bool = Field(description="false when it was already so (the same draft, already retired)")
    version: int | None = Field(default=None, description="the version published, for a publication")
    position: int
