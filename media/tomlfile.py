"""TOML files read into pydantic models, with errors that name the file and each field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def load_toml(path: Path, model: type[M], error: type[Exception], *, whole: str) -> M:
    """A TOML file read into ``model``; anything wrong raises ``error`` naming the file and each field
    (``whole`` names a problem of the document itself)."""
    return validated(read_toml(path, error), model, error, whole=whole, where=str(path))


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """A TOML file's fields; ``error`` names the file when it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as problem:
        raise error(f"{path}: {problem}") from problem


def validated(data: dict[str, Any], model: type[M], error: type[Exception], *, whole: str, where: str) -> M:
    """``data`` read into ``model``; anything wrong raises ``error`` naming ``where`` and each field."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        problems = "; ".join(f"{field_of(e['loc']) or whole}: {e['msg']}" for e in invalid.errors())
        raise error(f"{where}: {problems}") from invalid


def field_of(location: tuple[int | str, ...]) -> str:
    """A validation error's location as a dotted field name (``variables.0.max_length``)."""
    return ".".join(map(str, location))
