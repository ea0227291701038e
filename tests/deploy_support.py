"""A small kustomize renderer for the project's own manifests (there is no kubectl on CI).

It builds what `kubectl kustomize` builds for the features the manifests use, and refuses any
other field of a kustomization rather than ignore it: ``resources`` (files and directories),
``namespace``, ``labels`` (metadata only, as with ``includeSelectors: false``), ``images`` and
``patches`` by path (strategic merge: maps merge, lists of named items merge by name, other lists
are replaced, as for custom resources).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KNOWN = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources of the kustomization in ``directory``, as `kubectl kustomize` would print them."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - KNOWN
    if unknown:
        raise ValueError(f"{directory}: kustomization fields this renderer does not know: {sorted(unknown)}")
    resources: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources.extend(render(path))
        else:
            resources.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise ValueError(f"{directory}: only patches by path are supported, got {patch}")
        for document in yaml.safe_load_all((directory / patch["path"]).read_text()):
            target = find(resources, document["kind"], document["metadata"]["name"])
            merged = merge(target, document)
            target.clear()
            target.update(merged)
    for item in spec.get("labels", []):
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(item["pairs"])
            template = resource.get("spec", {}).get("template")
            if isinstance(template, dict) and item.get("includeTemplates", True):
                template.setdefault("metadata", {}).setdefault("labels", {}).update(item["pairs"])
    if "namespace" in spec:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for container in containers(resources):
            name, _, _tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    return resources


def find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The resource of that kind and name; a patch without its target is an error, as in kustomize."""
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise LookupError(f"no {kind} {name} to patch")


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge of ``patch`` into ``base`` (named list items by name)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    named = isinstance(base, list) and isinstance(patch, list) and all(
        isinstance(i, dict) and "name" in i for i in [*base, *patch])
    if named and base and patch:
        out = copy.deepcopy(base)
        for item in patch:
            at = next((i for i, b in enumerate(out) if b["name"] == item["name"]), None)
            if at is None:
                out.append(copy.deepcopy(item))
            else:
                out[at] = merge(out[at], item)
        return out
    return copy.deepcopy(patch)


def pod_specs(resources: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource, pod spec) for every Deployment and Job."""
    return [(r, r["spec"]["template"]["spec"]) for r in resources if r["kind"] in ("Deployment", "Job")]


def containers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container and init container of every workload."""
    return [c for _, spec in pod_specs(resources) for c in [*spec.get("initContainers", []), *spec["containers"]]]
