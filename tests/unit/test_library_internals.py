"""eventsourcing's private members: the ones the ledger relies on still exist with the parameters
it passes, and nothing outside ``ledger/event_store/internals.py`` reaches for any of them."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import eventsourcing
import pytest
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.utils import resolve_topic

from ledger.event_store.internals import RELIED_ON

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "ledger" / "event_store" / "internals.py"
PACKAGES = ("ledger", "service", "api", "projections", "media")
# The library documents ``_create`` as the way an aggregate's class method makes a new one.
DOCUMENTED = {"_create"}


def is_private(name: str) -> bool:
    """A single-underscore name: the library's own, free to change in any release."""
    return name.startswith("_") and not name.startswith("__")


def library_privates() -> set[str]:
    """Every private method or attribute name defined by a class in the installed library."""
    found: set[str] = set()
    for path in Path(eventsourcing.__file__).parent.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                for member in ast.walk(node):
                    if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) and is_private(member.name):
                        found.add(member.name)
                    elif (isinstance(member, ast.Attribute) and isinstance(member.ctx, ast.Store)
                          and is_private(member.attr)):
                        found.add(member.attr)
    return found - DOCUMENTED


def module_of(path: Path) -> str:
    """The dotted module name of a file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def inherited_privates(module: str, class_name: str) -> set[str]:
    """The private names the library's classes give the class ``class_name`` of ``module``."""
    cls = getattr(importlib.import_module(module), class_name, None)
    if not isinstance(cls, type):
        return set()
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.startswith("eventsourcing"):
            names.update(n for n in vars(base) if is_private(n))
    return names - DOCUMENTED


def reaches(path: Path, privates: set[str]) -> list[str]:
    """Where a module uses a library private: on another object, or inherited by one of its classes."""
    tree = ast.parse(path.read_text(), str(path))
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in privates
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
    ]
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        inherited = inherited_privates(module_of(path), cls.name)
        for node in ast.walk(cls):
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "name", None)
            if isinstance(node, ast.Attribute | ast.FunctionDef | ast.AsyncFunctionDef) and name in inherited:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {cls.name}.{name}")
    return found


@pytest.mark.parametrize(("owner", "member"), [(o, m) for o, ms in RELIED_ON.items() for m in ms])
def test_each_private_member_the_ledger_relies_on_is_still_there(owner: str, member: str) -> None:
    cls = resolve_topic(owner)
    expected = RELIED_ON[owner][member]
    if not expected:  # an attribute set on each instance
        instance = POPOApplicationRecorder() if cls is POPOApplicationRecorder else None
        assert instance is not None, f"no way to make a {owner} to look for {member} on"
        assert hasattr(instance, member), f"eventsourcing's {owner} no longer has {member}: see {ADAPTER.name}"
        return
    assert member in vars(cls) or any(member in vars(b) for b in cls.__mro__), (
        f"eventsourcing's {owner} no longer has {member}: see ledger/event_store/internals.py"
    )
    parameters = tuple(inspect.signature(getattr(cls, member)).parameters)
    assert parameters[: len(expected)] == expected, (
        f"eventsourcing's {owner}.{member} now takes {parameters}, the ledger passes {expected}"
    )


def test_no_module_but_the_adapter_reaches_into_the_library() -> None:
    privates = library_privates()
    found = [
        where
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ADAPTER
        for where in reaches(path, privates)
    ]
    assert found == []
