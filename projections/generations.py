"""`generations` and `gallery`: each generation's status, and each user's finished images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    delete,
    select,
    update,
)

from ledger.erasure import Erasure
from ledger.event_store.follow import Stored
from ledger.generation import Generation
from media.image_stores.naming import thumbnail_url_of
from media.templates import UPLOAD_PREFIX
from projections.base import Write
from projections.db import UTCDateTime, metadata
from projections.template_words import version_words, words_table

generations = Table(
    "generations",
    metadata,
    Column("generation_id", Uuid, primary_key=True),
    Column("user_id", String(200), nullable=False),
    Column("template_id", String(100), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("variables", JSON, nullable=False),
    Column("input_image", Text, nullable=True),
    Column("cost", BigInteger, nullable=False),
    Column("hold_id", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("image_url", Text, nullable=True),
    Column("thumbnail_url", Text, nullable=True),
    Column("provider", String(50), nullable=True),
    Column("model", String(200), nullable=True),
    Column("captured", BigInteger, nullable=False, default=0),
    Column("reason", Text, nullable=True),
    Column("retryable", Boolean, nullable=True),
    Column("share_token", String(100), nullable=True, unique=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_generations_user_position", "user_id", "position"),
)

gallery = Table(
    "gallery",
    metadata,
    Column("generation_id", Uuid, primary_key=True),
    Column("user_id", String(200), nullable=False),
    Column("template_id", String(100), nullable=False),
    Column("title", Text, nullable=False, default=""),
    # The template version that made the image, and its words and price: later versions change none of them.
    Column("template_version", Integer, nullable=True),
    Column("template_title", Text, nullable=False, server_default=""),
    Column("template_titles", JSON, nullable=True),
    Column("cost", BigInteger, nullable=True),
    Column("image_url", Text, nullable=True),
    Column("thumbnail_url", Text, nullable=True),
    Column("visible", Boolean, nullable=False, default=False),
    Column("share_token", String(100), nullable=True, unique=True),
    Column("shared_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=True),
    Column("position", BigInteger, nullable=False),
    # An image taken down after reports stays in its owner's gallery, without the image, saying why.
    Column("taken_down", String(40), nullable=True),
    Column("takedown_note", Text, nullable=True),
    Index("ix_gallery_user_position", "user_id", "position"),
)
gallery_words = words_table("gallery_template_words")


def thumbnail_of(event: Any) -> str:
    """The thumbnail URL of a completed image: the one the store reported, else the stores' naming (events
    recorded before the stores reported it)."""
    return str(getattr(event, "thumbnail_url", "") or thumbnail_url_of(str(event.image_url)))


def _title(variables: dict[str, Any]) -> str:
    """A caption for the gallery: the learner's title-like variable, else their first value."""
    for name in ("title", "headline", "name", "course", "event"):
        if variables.get(name):
            return str(variables[name])
    return next((str(v) for v in variables.values() if v), "")


class Generations:
    """One row per generation, following it from request to image or failure."""

    name = "generations"
    tables = (generations,)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's generation events as writes; other events are ignored."""
        writes: list[Write] = []
        requested: list[dict[str, Any]] = []
        for stored in page:
            event = stored.event
            values: dict[str, Any] = {"updated_at": event.timestamp, "position": stored.position}
            if isinstance(event, Generation.GenerationRequested):
                requested.append({
                    "generation_id": event.originator_id, "user_id": event.user_id, "template_id": event.template_id,
                    "template_version": event.template_version, "variables": event.variables,
                    "input_image": event.input_image, "cost": event.cost, "hold_id": event.hold_id,
                    "status": "requested", "attempts": 0, "captured": 0, "requested_at": event.timestamp, **values})
                continue
            if isinstance(event, Generation.GenerationStarted):
                values.update(status="started", attempts=generations.c.attempts + 1)
            elif isinstance(event, Generation.GenerationCompleted):
                values.update(status="completed", image_url=event.image_url, thumbnail_url=thumbnail_of(event),
                              provider=event.provider, model=event.model, captured=event.captured)
            elif isinstance(event, Generation.GenerationFailed):
                values.update(status="failed", reason=event.reason, retryable=event.retryable)
            elif isinstance(event, Generation.GenerationShared):
                values.update(share_token=event.token)
            elif isinstance(event, Generation.GenerationUnshared):
                values.update(share_token=None)
            elif isinstance(event, Generation.GenerationImageDeleted):  # still completed: the money facts stay
                values.update(image_url=None, thumbnail_url=None, share_token=None, variables={})
            elif isinstance(event, Erasure.LearnerErased):  # every generation of theirs forgets their words
                _flush(writes, generations, requested)
                writes.append((update(generations).where(generations.c.user_id == event.user_id).values(
                    variables={}, input_image=None), {}))
                continue
            else:
                continue
            _flush(writes, generations, requested)
            writes.append((update(generations).where(generations.c.generation_id == event.originator_id)
                           .values(**values), {}))
        _flush(writes, generations, requested)
        return writes


class Gallery:
    """A user's finished images, newest first; a share token makes one public."""

    name = "gallery"
    tables = (gallery, gallery_words)

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's generation events as writes; other events are ignored."""
        writes, words = version_words(conn, gallery_words, page)
        requested: list[dict[str, Any]] = []
        for stored in page:
            event = stored.event
            where = gallery.c.generation_id == event.originator_id
            if isinstance(event, Generation.GenerationRequested):
                named = words.get((event.template_id, event.template_version))
                requested.append({"generation_id": event.originator_id, "user_id": event.user_id,
                                  "template_id": event.template_id, "title": _title(event.variables),
                                  "template_version": event.template_version,
                                  "template_title": named.title if named else "",
                                  "template_titles": named.titles if named else None, "cost": event.cost,
                                  "visible": False, "position": stored.position})
                continue
            if isinstance(event, Erasure.LearnerErased):
                _flush(writes, gallery, requested)
                writes.append((delete(gallery).where(gallery.c.user_id == event.user_id), {}))
                continue
            if not isinstance(event, Generation.GenerationCompleted | Generation.GenerationFailed
                              | Generation.GenerationShared | Generation.GenerationUnshared
                              | Generation.GenerationImageDeleted):
                continue
            _flush(writes, gallery, requested)
            if isinstance(event, Generation.GenerationTakenDown):
                writes.append((update(gallery).where(where).values(
                    image_url=None, thumbnail_url=None, share_token=None, shared_at=None, taken_down=event.category,
                    takedown_note=event.note), {}))
            elif isinstance(event, Generation.GenerationImageDeleted):
                writes.append((delete(gallery).where(where), {}))
            elif isinstance(event, Generation.GenerationCompleted):
                writes.append((update(gallery).where(where & gallery.c.visible.is_(False)).values(
                    image_url=event.image_url, thumbnail_url=thumbnail_of(event), visible=True,
                    created_at=event.timestamp, position=stored.position), {}))
            elif isinstance(event, Generation.GenerationFailed):
                writes.append((delete(gallery).where(where & gallery.c.visible.is_(False)), {}))
            elif isinstance(event, Generation.GenerationShared):
                writes.append((update(gallery).where(where).values(share_token=event.token,
                                                                   shared_at=event.timestamp), {}))
            else:
                writes.append((update(gallery).where(where).values(share_token=None, shared_at=None), {}))
        _flush(writes, gallery, requested)
        return writes


def _flush(writes: list[Write], table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows gathered so far, in one statement, and start a new list."""
    if rows:
        writes.append((table.insert(), list(rows)))
        rows.clear()


def uploads_in_use(conn: Connection, user_id: str | None = None) -> set[str]:
    """The upload ids that generations still to be rendered take as their photo (of ``user_id``, or anyone's)."""
    query = select(generations.c.input_image).where(generations.c.status.in_(("requested", "started"))
                                                    & generations.c.input_image.like(f"{UPLOAD_PREFIX}%"))
    if user_id is not None:
        query = query.where(generations.c.user_id == user_id)
    return {str(ref).removeprefix(UPLOAD_PREFIX) for ref in conn.execute(query).scalars()}
