"""The words of each published template version (its title in each language and its main text field),
from the template events, for the projections that name generations: a generation keeps the words
of the version that made it, whatever is published later and however often the log is replayed.

Each projection keeps its own copy (``words_table``), so it reads only its own tables and can be
rebuilt alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Column, Connection, Integer, String, Table, Text, select, tuple_

from ledger.event_store.follow import Stored
from ledger.generation import Generation
from ledger.template import Template
from projections.base import Write
from projections.db import metadata

Key = tuple[str, int]  # (template id, version)


@dataclass(frozen=True)
class Words:
    """What a template version is called, and which of its fields holds the learner's main text."""

    title: str
    main_variable: str
    titles: dict[str, str] = field(default_factory=dict)  # by language, besides English


def words_table(name: str) -> Table:
    """A projection's own table of version words."""
    return Table(
        name,
        metadata,
        Column("template_id", String(64), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("title", Text, nullable=False),
        Column("main_variable", String(32), nullable=False),
        Column("titles", JSON, nullable=False),
    )


def words_of(fields: dict[str, Any]) -> Words:
    """The words of a version from its fields (the catalogue file's, as published)."""
    variables = fields.get("variables") or []
    main = next((v.get("name", "") for v in variables if v.get("type", "text") == "text"), "")
    titles = {lang: str(w["title"]) for lang, w in (fields.get("translations") or {}).items() if w.get("title")}
    return Words(str(fields.get("title", "")), str(main), titles)


def version_words(conn: Connection, table: Table, page: Sequence[Stored]) -> tuple[list[Write], dict[Key, Words]]:
    """The writes that keep the page's newly published versions in ``table``, and the words of every
    version the page's generation requests name (those never published are absent)."""
    published = {(e.template_id, e.version): words_of(e.spec) for s in page
                 if isinstance(e := s.event, Template.TemplatePublished)}
    wanted = {(e.template_id, e.template_version) for s in page
              if isinstance(e := s.event, Generation.GenerationRequested)} - set(published)
    known: dict[Key, Words] = {}
    if wanted:
        rows = conn.execute(select(table).where(tuple_(table.c.template_id, table.c.version).in_(sorted(wanted))))
        known = {(r.template_id, r.version): Words(r.title, r.main_variable, dict(r.titles)) for r in rows}
    writes: list[Write] = []
    if published:
        writes.append((table.insert(), [{"template_id": k[0], "version": k[1], "title": w.title,
                                         "main_variable": w.main_variable, "titles": w.titles}
                                        for k, w in published.items()]))
    return writes, {**known, **published}
