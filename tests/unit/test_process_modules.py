"""Every process is wired the same way in its module of api/processes: settings, bootstrap, probes, run."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PROCESSES = sorted(p.stem for p in (ROOT / "api" / "processes").glob("*.py") if not p.stem.startswith("_"))


def runners() -> dict[str, inspect.Signature]:
    """The signature of every ``run_*`` a process module defines, by ``module.function``."""
    found = {}
    for name in PROCESSES:
        module = importlib.import_module(f"api.processes.{name}")
        for function, value in inspect.getmembers(module, inspect.isfunction):
            if function.startswith("run_") and value.__module__ == module.__name__:
                found[f"{name}.{function}"] = inspect.signature(value)
    return found


def test_every_process_runner_takes_its_health_port() -> None:
    found = runners()
    assert {n.split(".")[0] for n in found} >= {"consume", "projector", "relay", "results", "sweep", "worker"}
    assert [name for name, signature in found.items() if "health_port" not in signature.parameters] == []


def test_the_command_line_starts_no_probes_itself() -> None:
    tree = ast.parse((ROOT / "api" / "cli.py").read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not names & {"start_probes", "Probes", "watch_app"}
