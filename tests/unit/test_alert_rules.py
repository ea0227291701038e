"""What to watch: the alert rules pass promtool's tests, each has its runbook line, and the dashboard and the
overlay's copies are the ones scripts/monitoring.py writes. (That every metric they name is exported is
tests/e2e/test_what_to_watch.py's, which needs PostgreSQL.)"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.support.deploy import render

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
PROMTOOL = shutil.which(os.environ.get("STUDIO_PROMTOOL", "promtool"))
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not found: `make promtool` installs it "
                                    "(Debian's prometheus package), or set STUDIO_PROMTOOL")


def monitoring() -> ModuleType:
    """scripts/monitoring.py, the dashboard's code."""
    spec = importlib.util.spec_from_file_location("monitoring", ROOT / "scripts" / "monitoring.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alerts() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@needs_promtool
def test_every_alert_rule_passes_its_promtool_tests() -> None:
    ran = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_every_alert_has_a_test_case_that_raises_it() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    raised = {case["alertname"] for test in cases for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert raised == {rule["alert"] for rule in alerts()}


@needs_promtool
def test_the_overlays_prometheus_rule_is_valid_for_promtool(tmp_path: Path) -> None:
    rule = next(r for r in render(ROOT / "deploy/kubernetes/overlays/managed") if r["kind"] == "PrometheusRule")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    checked = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_overlay_carries_the_rules_and_the_dashboard_as_checked_in() -> None:
    resources = render(ROOT / "deploy/kubernetes/overlays/managed")
    rule = next(r for r in resources if r["kind"] == "PrometheusRule")
    board = next(r for r in resources if r["metadata"]["name"] == "studio-ledger-dashboard")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    assert rule["metadata"]["namespace"] == board["metadata"]["namespace"] == "studio"
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["studio-ledger.json"]) == json.loads(
        (ROOT / "deploy/grafana/studio-ledger.json").read_text())


def test_the_checked_in_dashboard_and_overlay_are_what_the_code_writes() -> None:
    script = monitoring()
    for path, text in script.written().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is not current: run make monitoring"


def test_every_alert_has_a_runbook_line_in_the_operations_guide() -> None:
    guide = OPERATIONS.read_text()
    for rule in alerts():
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/operations.md" and anchor == rule["alert"].lower()
        lines = [line for line in guide.splitlines() if f'<a id="{anchor}"></a>' in line]
        assert len(lines) == 1 and f"`{rule['alert']}`" in lines[0], f"no runbook line for {rule['alert']}"
        assert re.fullmatch(r"\| .+ \| .{20,} \| .{20,} \|", lines[0]), lines[0]
