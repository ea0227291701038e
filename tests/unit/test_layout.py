"""The shape of the whole code base (docs/architecture.md): layers that import only downward, no
import cycle between files or packages, and no module over 400 lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import cycles, imported, module_name

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "media", "projections", "service", "api")
# What each layer may import of the others (docs/architecture.md); anything else is an arrow the wrong way.
MAY_IMPORT = {
    "ledger": set(),
    "media": {"ledger"},
    "projections": {"ledger", "media"},
    "service": {"ledger", "media", "projections"},
    "api": {"ledger", "media", "projections", "service"},
}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """Every module of the five packages, by dotted name."""
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def graph() -> dict[str, set[str]]:
    """Imports between the project's own modules (in functions and under TYPE_CHECKING too)."""
    found = modules()
    return {name: {m for m in imported(name, path, found) if m in found} for name, path in found.items()}


def test_no_import_cycle_between_files() -> None:
    assert cycles(graph()) == []


def test_no_import_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for name, targets in graph().items():
        edges[name.split(".")[0]].update(t.split(".")[0] for t in targets if t.split(".")[0] != name.split(".")[0])
    assert cycles(edges) == []


def test_every_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted(f"{name} -> {target}" for name, targets in graph().items() for target in targets
                   if target.split(".")[0] != name.split(".")[0]
                   and target.split(".")[0] not in MAY_IMPORT[name.split(".")[0]])
    assert wrong == []


def test_the_layer_rule_sees_an_upward_import() -> None:
    # The check above would pass on an empty graph: make sure it reads real imports.
    edges = graph()
    assert "service.bootstrap" in edges["api.processes.serve"]
    assert any(t.startswith("ledger") for t in edges["service.generations"])


def test_no_module_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_every_command_line_is_an_entry_point_in_api() -> None:
    # Entry points live in api/ (docs/architecture.md); a Typer app below it is one outside.
    found = modules()
    outside = sorted(name for name, path in found.items() if not name.startswith("api")
                     and {"typer", "click"} & {m.split(".")[0] for m in imported(name, path, found)})
    assert outside == []


def test_no_test_module_imports_another_test_module() -> None:
    # What several modules share lives in tests/support or a conftest: a test module stays free to change.
    tests = ROOT / "tests"
    found = sorted(f"{path.relative_to(ROOT)} -> {target}"
                   for path in tests.rglob("test_*.py")
                   for target in imported(module_name(path), path, [])
                   if target.rpartition(".")[2].startswith("test_"))
    assert found == []
