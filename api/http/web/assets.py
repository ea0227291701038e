"""Static files served under names that carry a hash of their content, cached for a year.

ES modules import each other by plain names (``./api.js``); each import is rewritten to the
imported module's hashed name before the importer's own hash is taken, so a change anywhere
changes the name of every module that depends on it and no browser keeps a stale copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

IMPORT = re.compile(r"""(from\s+|import\s+)(['"])\./([\w-]+\.js)\2""")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
FOREVER = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """One static file as served: its hashed name, bytes and media type."""

    name: str
    body: bytes
    media_type: str
    etag: str


class Assets:
    """Every file of a folder, by plain name (for templates) and by hashed name (for requests)."""

    def __init__(self, folder: Path) -> None:
        sources = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in TYPES}
        self._by_plain: dict[str, Asset] = {}
        for name in sources:
            self._resolve(name, sources, ())
        self._by_hashed = {a.name: a for a in self._by_plain.values()}

    def _resolve(self, name: str, sources: dict[str, bytes], chain: tuple[str, ...]) -> Asset:
        if name in self._by_plain:
            return self._by_plain[name]
        if name in chain:
            raise ValueError(f"static modules import each other in a cycle: {' -> '.join((*chain, name))}")
        if name not in sources:
            raise ValueError(f"static module {chain[-1] if chain else '?'} imports {name}, which does not exist")
        body = sources[name]
        if name.endswith(".js"):
            def hashed(match: re.Match[str]) -> str:
                target = self._resolve(match.group(3), sources, (*chain, name))
                return f"{match.group(1)}{match.group(2)}./{target.name}{match.group(2)}"

            body = IMPORT.sub(hashed, body.decode()).encode()
        digest = hashlib.sha256(body).hexdigest()[:12]
        stem, _, suffix = name.rpartition(".")
        asset = Asset(f"{stem}.{digest}.{suffix}", body, TYPES["." + suffix], f'"{digest}"')
        self._by_plain[name] = asset
        return asset

    def url(self, name: str) -> str:
        """The URL of a file by its plain name (``app.js`` -> ``/static/app.1a2b3c4d5e6f.js``)."""
        return f"/static/{self._by_plain[name].name}"

    def get(self, hashed_name: str) -> Asset | None:
        """The file served under a hashed name, if there is one."""
        return self._by_hashed.get(hashed_name)
