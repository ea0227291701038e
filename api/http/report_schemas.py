"""Bodies of the report routes: the queue of reported images, an operator's decision, a learner's standing
(``api/http/schemas.py`` holds the rest; these live apart to keep each module small)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from service.reports import MAX_NOTE, ReportCategory


class TakedownPublic(BaseModel):
    """Why an image was taken down after reports, as its owner sees it in their gallery."""

    category: ReportCategory
    note: str = Field(description="the operator's words to the owner")


class ReportPublic(BaseModel):
    """One report of an image: why, the reporter's own words, when; and, once decided, by whom and why."""

    category: ReportCategory
    text: str
    reported_at: datetime
    status: Literal["open", "dismissed", "upheld", "closed"]
    decided_by: str | None = None
    note: str | None = None
    decided_at: datetime | None = None


class ReportCasePublic(BaseModel):
    """A reported image in the queue: the image, its template, the learner's words, how often it was reported and
    why. The id of a case is the image's generation id."""

    generation_id: UUID
    user_id: str
    reports: int = Field(description="how many reports the case has in the status asked for")
    categories: dict[str, int] = Field(description="how many of them give each reason")
    last_reported_at: datetime
    template_id: str
    template_version: int
    template_title: str
    title: str = Field(description="the caption the gallery shows")
    variables: dict[str, object] = Field(description="the learner's words on the image ({} once it is deleted)")
    image_url: str | None = Field(description="a signed link to the image, while it exists")
    share_url: str | None
    details: list[ReportPublic]


class TakedownRequest(BaseModel):
    """Take a reported image down: the reason (one of the report categories) and a note its owner is shown."""

    category: ReportCategory
    note: str = Field(default="", max_length=MAX_NOTE * 4, description="shown to the image's owner in their "
                      "gallery; cleaned as a report's words are")


class DismissRequest(BaseModel):
    """Keep a reported image: a note for the audit on why."""

    note: str = Field(default="", max_length=MAX_NOTE * 4)


class ReportsDecided(BaseModel):
    """What a decision did: the reports it closed, and the ledger position to read it at."""

    generation_id: UUID
    decision: Literal["takedown", "dismiss"]
    repeated: bool = Field(description="the same decision was already recorded: nothing changed")
    position: int = Field(description="pass as min_position to read your own write")


class SharingRestore(BaseModel):
    """Give a learner their sharing back: why (required, recorded with who)."""

    reason: str = Field(min_length=1, max_length=MAX_NOTE * 4)


class StandingPublic(BaseModel):
    """Whether a learner may share: takedowns upheld since sharing was last restored, and suspension."""

    user_id: str
    upheld: int
    suspended: bool
    position: int | None = Field(default=None, description="the ledger position of a change just made")
