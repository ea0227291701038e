"""Bodies of a learner's own-data routes: a deleted image, and the export of everything kept about them
(``api/http/schemas.py`` holds the rest; these live apart to keep each module small)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas import StatementLinePublic, WalletPublic


class ImageDeleted(BaseModel):
    """The image is gone: from the gallery, the image store (with its thumbnail and preview) and its share link;
    the statement keeps its credits, described as "image deleted"."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "generation_id": "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d", "deleted": True, "position": 63}]})
    generation_id: UUID
    deleted: bool
    position: int = Field(description="pass as min_position to read your own write")


class ExportedGeneration(BaseModel):
    """One generation as exported: what was asked for, in the learner's words, and where its image is."""

    generation_id: UUID
    template_id: str
    template_version: int
    status: str
    variables: dict[str, Any] = Field(description="the learner's words; empty once the image was deleted")
    cost: int
    captured: int
    reason: str | None
    image_url: str | None = Field(description="a link that works for a limited time; null once deleted")
    thumbnail_url: str | None
    share_url: str | None
    image_deleted: bool
    requested_at: datetime


class ExportedUpload(BaseModel):
    """One uploaded photo the service keeps (re-encoded, without its metadata), until it expires."""

    upload_id: str
    content_type: str
    width: int
    height: int
    created_at: datetime
    expires_at: datetime


class ExportPublic(BaseModel):
    """Everything the service keeps about the caller, as of ``position``: the wallet and every statement line,
    every generation with its texts and links to its images, and the uploaded photos."""

    user_id: str
    exported_at: datetime
    position: int
    wallet: WalletPublic
    statement: list[StatementLinePublic] = Field(description="every line, oldest first")
    generations: list[ExportedGeneration] = Field(description="oldest first")
    uploads: list[ExportedUpload]


class LearnerErasedPublic(BaseModel):
    """The caller is erased: their images and uploads are deleted and their words are unreadable for ever (their
    key is destroyed); the money facts stay, so the audit and the journal are unchanged."""

    user_id: str
    images_deleted: int
    uploads_deleted: int
    position: int = Field(description="pass as min_position to read your own write")
