"""Templates as data: the catalog every API replica and worker reads from the templates projection,
and importing and exporting catalogue files (the shipped catalogue is imported on first start)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ledger import Ledger, TemplateStatus
from ledger.values import digest
from media.template_files import read_folder, to_toml
from media.templates import (
    Catalog,
    Published,
    Template,
    TemplateError,
    UnknownTemplate,
    at_version,
    template_fields,
)
from projections.db import snapshot
from projections.templates import catalog_rows, projected_position

log = logging.getLogger(__name__)
IMPORTER = "studio-ledger templates import"


@dataclass(frozen=True)
class Imported:
    """What an import did: the new version of each template it changed, and the highest ledger position."""

    versions: dict[str, int]
    unchanged: list[str]
    position: int


def import_folder(ledger: Ledger, folder: Path, *, at: datetime, by: str = IMPORTER, only_new: bool = False,
                  check: Callable[[Template], list[tuple[str, str]]] | None = None) -> Imported:
    """Publish every template file of ``folder`` whose fields differ from its newest version (``only_new``:
    only those the store has never seen, as on first start); ``TemplateError`` before anything is written
    when a file does not validate, or ``check`` (what publishing checks) finds a problem in one."""
    found = read_folder(folder)
    problems = [(f"{path}: {field}", message) for path, fields, template in found
                if check is not None and not _unchanged(ledger, template.id, fields)
                for field, message in check(template)]
    if problems:
        raise TemplateError("; ".join(f"{where}: {message}" for where, message in problems), problems)
    versions: dict[str, int] = {}
    unchanged: list[str] = []
    position = 0
    for path, fields, template in found:
        if only_new and ledger.template(template.id) is not None:
            unchanged.append(template.id)
            continue
        outcome = ledger.import_template(template_id=template.id, spec=template_fields(fields), by=by,
                                         reason=f"imported from {path.name}", at=at)
        position = max(position, outcome.position)
        if outcome.value is None:
            unchanged.append(template.id)
        else:
            versions[template.id] = outcome.value
    return Imported(versions, unchanged, position)


def _unchanged(ledger: Ledger, template_id: str, fields: dict[str, Any]) -> bool:
    """Whether ``fields`` already are the template's newest version, with no draft pending."""
    stored = ledger.template(template_id)
    latest = stored.latest if stored is not None else None
    return latest is not None and stored is not None and stored.draft is None and \
        latest["digest"] == digest(template_fields(fields))


def import_new(ledger: Ledger, folder: Path, *, at: datetime) -> int:
    """Import the templates of ``folder`` the store has never seen; the ledger's head afterwards."""
    import_folder(ledger, folder, at=at, only_new=True)
    return ledger.recorder.max_notification_id() or 0


def export_folder(ledger: Ledger, folder: Path, template_ids: list[str]) -> list[Path]:
    """Write the newest published version of each template to ``folder/<id>.toml``; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for template_id in template_ids:
        template = ledger.template(template_id)
        if template is None or template.latest is None:
            raise UnknownTemplate(f"no published template {template_id!r}")
        latest = template.latest
        path = folder / f"{template_id}.toml"
        path.write_text(to_toml(_with_version(latest["spec"], latest["version"])), encoding="utf-8")
        written.append(path)
    return written


def _with_version(fields: dict[str, Any], version: int) -> dict[str, Any]:
    # ``version`` sits where the shipped files have it: after ``cost``, else last of the plain values.
    out: dict[str, Any] = {}
    for key, value in fields.items():
        out[key] = value
        if key == "cost":
            out["version"] = version
    out.setdefault("version", version)
    return out


class LiveCatalog:
    """The catalog as the templates projection has it, refreshed in the background: a publish reaches
    every process reading the same read database within ``interval`` seconds of being projected.

    ``start()`` first runs ``importer`` (the start-up import of the catalogue files, answering the
    ledger position it leaves). Until the projection has reached that position, the templates it has
    not projected yet come from ``seed``, the catalogue files themselves, so that a first start serves
    its templates before the projector has caught up.
    """

    def __init__(self, engine: Engine, *, seed: Catalog | None = None, seeded: int = 0, interval: float = 1.0,
                 clock: Callable[[], datetime] | None = None, importer: Callable[[], int] | None = None) -> None:
        self.engine = engine
        self.seed = seed
        self.seeded = seeded
        self.importer = importer
        self.interval = interval
        self.clock = clock
        self._position = -1
        self._current = seed or Catalog([])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def all(self) -> list[Template]:
        """Every template learners can pick now, in id order."""
        return self._current.all()

    def get(self, template_id: str) -> Template:
        """The version of ``template_id`` in effect now, or ``UnknownTemplate`` (also when retired)."""
        return self._current.get(template_id)

    def version(self, template_id: str, version: int) -> Template:
        """That version of ``template_id``, retired or not, or ``UnknownTemplate``."""
        return self._current.version(template_id, version)

    def refresh(self) -> bool:
        """Read the projection again if it moved; whether the catalog changed."""
        with snapshot(self.engine) as conn:  # the position and the rows it vouches for, from one moment
            if projected_position(conn) == self._position:
                return False
            position, rows, versions = catalog_rows(conn)
        self._current = self._build(rows, versions, position)
        self._position = position
        return True

    def start(self) -> None:
        """Import (when given an importer), refresh now, then every ``interval`` seconds in a background
        thread until ``stop()``."""
        if self.importer is not None:
            self.seeded = max(self.seeded, self.importer())
            self._position = -1
        try:
            self.refresh()
        except SQLAlchemyError as error:  # a worker whose read database is not up yet: the files until it is
            log.warning("the templates projection cannot be read yet (%s): serving the catalogue files", error)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="template-catalog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception as error:  # a read database away for a moment: keep the catalog we have
                log.warning("could not refresh the template catalog: %s", error)

    def _build(self, rows: list[dict[str, Any]], versions: list[dict[str, Any]], position: int) -> Catalog:
        published: dict[str, list[Published]] = {}
        for row in versions:
            where = f"template {row['template_id']} version {row['version']}"
            try:
                template = at_version(row["fields"], row["version"], where=where)
            except TemplateError as error:  # validated when published: only a rule made stricter since
                log.error("%s", error)
                continue
            published.setdefault(row["template_id"], []).append(Published(template, row["effective_at"]))
        retired = frozenset(r["template_id"] for r in rows if r["status"] == TemplateStatus.RETIRED)
        seeded = [] if self.seed is None or position >= self.seeded else self.seed.all()
        for template in seeded:
            published.setdefault(template.id, [Published(template)])
        options: dict[str, Any] = {} if self.clock is None else {"clock": self.clock}
        return Catalog([], versions=published, retired=retired, **options)
