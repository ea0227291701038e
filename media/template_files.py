"""Catalogue files, the templates' import and export format: a folder of ``<id>.toml`` files, read
through ``media.templates`` and written back in the shipped files' own layout, so that a
template exported unchanged is the file it was imported from, byte for byte.

The layout: the top-level values first, then each list of tables (``[[variables]]``), then each
table (``[model]``, ``[layout]`` with its ``[[layout.slots]]``), then tables of tables
(``[translations.hi]``); tables inside those are written inline (``labels = { ... }``).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from media.templates import Template, TemplateError, parse_template
from media.tomlfile import read_toml

BARE_KEY = re.compile(r"^[A-Za-z0-9_]+$")  # the shipped files quote keys with a hyphen


def read_folder(folder: Path) -> list[tuple[Path, dict[str, Any], Template]]:
    """Every ``*.toml`` template of ``folder``: its file, its fields and the template they make, all
    validated; ``TemplateError`` names the file and the field (or the id used twice)."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise TemplateError(f"{folder}: no template files (*.toml)")
    found = []
    seen: dict[str, Path] = {}
    for path in files:
        fields = read_toml(path, TemplateError)
        template = parse_template(fields, where=str(path))
        if template.id in seen:
            raise TemplateError(f"{path}: id: {template.id!r} is already used by {seen[template.id]}")
        seen[template.id] = path
        found.append((path, fields, template))
    return found


def to_toml(fields: dict[str, Any]) -> str:
    """A template's fields as a catalogue file."""
    lines: list[str] = []
    _table(lines, fields, [])
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(lines: list[str], table: dict[str, Any], path: list[str]) -> None:
    later: list[tuple[str, Any]] = []
    for key, value in table.items():
        if _is_tables(value) or (isinstance(value, dict) and not path):
            later.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in later:
        if isinstance(value, list):
            for item in value:
                lines += ["", f"[[{_dotted([*path, key])}]]"]
                _table(lines, item, [*path, key])
        elif value and all(isinstance(v, dict) for v in value.values()):
            for name, inner in value.items():  # a table of tables: no header of its own
                lines += ["", f"[{_dotted([*path, key, name])}]"]
                _table(lines, inner, [*path, key, name])
        else:
            lines += ["", f"[{_dotted([*path, key])}]"]
            _table(lines, value, [*path, key])


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _dotted(path: list[str]) -> str:
    return ".".join(_key(k) for k in path)


def _key(key: str) -> str:
    return key if BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string once its non-ASCII letters are kept as they are.
    return json.dumps(text, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateError(f"a template value must be a finite number, got {value}")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TemplateError(f"a template value cannot be {type(value).__name__}: {value!r}")
