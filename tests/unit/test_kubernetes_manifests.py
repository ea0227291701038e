"""deploy/kubernetes: the base and every overlay render, validate against the Kubernetes schemas
(offline, `kubernetes-validate`), and run real CLI commands with real settings.

KEDA's ScaledObject is a custom resource with no schema in `kubernetes-validate`: its fields are
checked here one by one (target, bounds, and a kafka trigger whose group, topic and brokers are
the worker's own), and its metadata against the core ObjectMeta schema. So is the Prometheus
Operator's PrometheusRule, whose groups `tests/unit/test_alert_rules.py` checks with promtool.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
from typer.main import get_command

from api.cli import app
from service.settings.api import ApiSettings
from service.settings.media import MediaSettings
from service.settings.messaging import MessagingSettings
from service.settings.store import StoreSettings
from tests.support.deploy import containers, pod_specs, render

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parents[2] / "deploy" / "kubernetes"
KUSTOMIZATIONS = [ROOT / "base", *sorted(p for p in (ROOT / "overlays").iterdir() if p.is_dir())]
PROCESSES = {"api", "projector", "relay", "consume", "results", "worker", "sweeper"}
KUBERNETES = "1.30.0"  # the oldest release the manifests use fields of (the preStop sleep action)
SECRET_NAME = "studio-ledger-secrets"
SECRETLIKE = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY")


def settings_variables() -> set[str]:
    """Every STUDIO_* variable some process's settings read."""
    classes = (StoreSettings, ApiSettings, MessagingSettings, MediaSettings)
    # A field's variable is STUDIO_<its name>, or its alias where it has one (StoreSettings.backend: STUDIO_STORE).
    return {field.validation_alias if isinstance(field.validation_alias, str) else f"STUDIO_{name.upper()}"
            for cls in classes for name, field in cls.model_fields.items()}


@pytest.fixture(scope="module", params=KUSTOMIZATIONS, ids=lambda p: p.name)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """The resources of one kustomization."""
    return render(request.param)


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def config(resources: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = by_kind(resources, "ConfigMap")["studio-ledger-config"]["data"]
    return data


def cli_command(args: list[str]) -> Any:
    """The CLI command ``args`` name, its options parsed as the CLI would (raises on unknown ones)."""
    command: Any = get_command(app)
    rest, name = list(args), "studio-ledger"
    while hasattr(command, "commands"):  # a group: the next word names a command of it
        assert rest, f"{args} names a group, not a command"
        name = rest.pop(0)
        found = command.get_command(typer.Context(command), name)
        assert found is not None, f"studio-ledger has no command {args}"
        command = found
    command.make_context(name, rest)
    return command


def test_every_resource_validates_against_the_kubernetes_schemas(rendered: list[dict[str, Any]]) -> None:
    for resource in rendered:
        if resource["apiVersion"].startswith(("keda.sh/", "monitoring.coreos.com/")):
            meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": resource["metadata"]}
            kubernetes_validate.validate(meta, KUBERNETES, strict=True)
            continue
        kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def test_every_process_is_a_deployment_of_the_one_image(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    components = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                  for d in deployments.values()}
    assert components == PROCESSES
    images = {c["image"] for c in containers(rendered)}
    assert len(images) == 1, images
    for resource, spec in pod_specs(rendered):
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            assert "command" not in container, f"{resource['metadata']['name']} overrides the image's entry point"


def test_every_container_runs_a_real_cli_command(rendered: list[dict[str, Any]]) -> None:
    for container in containers(rendered):
        cli_command(container["args"])


def test_the_init_job_provisions_the_topics_then_the_store(rendered: list[dict[str, Any]]) -> None:
    spec = by_kind(rendered, "Job")["studio-ledger-init"]["spec"]["template"]["spec"]
    assert [c["args"] for c in spec["initContainers"]] == [["kafka", "init"]]
    assert [c["args"] for c in spec["containers"]] == [["store", "init"]]


def test_every_studio_variable_is_a_real_setting(rendered: list[dict[str, Any]]) -> None:
    known = settings_variables()
    named = set(config(rendered))
    for container in containers(rendered):
        named |= {e["name"] for e in container.get("env", [])}
    unknown = {n for n in named if n.startswith("STUDIO_")} - known
    assert not unknown, f"not a setting of any process: {sorted(unknown)}"


def test_secrets_come_from_the_secret_and_never_inline(rendered: list[dict[str, Any]]) -> None:
    assert not by_kind(rendered, "Secret"), "secrets are created apart, never kept in the manifests"
    assert not [k for k in config(rendered) if SECRETLIKE.search(k)]
    for container in containers(rendered):
        for env in container.get("env", []):
            if SECRETLIKE.search(env["name"]):
                assert env["valueFrom"]["secretKeyRef"] == {"name": SECRET_NAME, "key": env["name"]}
                assert env["name"] in settings_variables()
                assert "value" not in env


def test_every_process_has_probes_resources_and_a_grace_period(rendered: list[dict[str, Any]]) -> None:
    for deployment in by_kind(rendered, "Deployment").values():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] >= 30
        (container,) = spec["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] in ports, f"{deployment['metadata']['name']} {probe}"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        if "health" in ports:  # the Kafka processes answer their probes on --health-port
            args = container["args"]
            assert args[args.index("--health-port") + 1] == str(ports["health"])
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]


def test_every_deployment_has_a_disruption_budget(rendered: list[dict[str, Any]]) -> None:
    budgets = [b["spec"]["selector"]["matchLabels"] for b in by_kind(rendered, "PodDisruptionBudget").values()]
    for deployment in by_kind(rendered, "Deployment").values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(sel.items() <= labels.items() for sel in budgets), deployment["metadata"]["name"]


def test_the_api_is_served_scaled_on_cpu_and_reached_through_the_ingress(rendered: list[dict[str, Any]]) -> None:
    api = by_kind(rendered, "Deployment")["studio-ledger-api"]
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    hpa = by_kind(rendered, "HorizontalPodAutoscaler")["studio-ledger-api"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "studio-ledger-api"}
    assert hpa["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    service = by_kind(rendered, "Service")["studio-ledger-api"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["STUDIO_HOST"] == "0.0.0.0"
    assert int(env["STUDIO_PORT"]) == container["ports"][0]["containerPort"]
    for ingress in by_kind(rendered, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "studio-ledger-api"
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_the_workers_scale_on_their_own_consumer_groups_lag(rendered: list[dict[str, Any]]) -> None:
    scaled = by_kind(rendered, "ScaledObject")["studio-ledger-worker"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert set(spec) <= {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval",
                         "cooldownPeriod", "triggers", "advanced", "fallback", "idleReplicaCount"}
    assert spec["scaleTargetRef"] == {"name": "studio-ledger-worker"}
    assert "studio-ledger-worker" in by_kind(rendered, "Deployment")
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    settings = config(rendered)
    meta = trigger["metadata"]
    assert meta["consumerGroup"] == settings["STUDIO_WORKER_GROUP"] == MediaSettings.model_fields[
        "worker_group"].default
    assert meta["topic"] == settings["STUDIO_GENERATION_REQUESTED_TOPIC"]
    assert meta["bootstrapServers"] == settings["STUDIO_KAFKA_BOOTSTRAP_SERVERS"]
    assert int(meta["lagThreshold"]) > 0 and int(meta["activationLagThreshold"]) >= 0
    assert all(isinstance(v, str) for v in meta.values()), "KEDA's trigger metadata is a map of strings"


def test_the_overlays_are_built_by_kustomize_itself_with_every_feature_it_has(tmp_path: Path) -> None:
    # A generated ConfigMap gets a content hash in its name, and every reference to it follows:
    # only kustomize does that, so this is built by the real tool and not an imitation of it.
    (tmp_path / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n"
        "      restartPolicy: Never\n      containers: [{name: c, image: studio-ledger:1, "
        "envFrom: [{configMapRef: {name: extra}}]}]\n")
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [job.yaml]\nconfigMapGenerator: [{name: extra, literals: [STUDIO_X=1]}]\n")
    resources = render(tmp_path)
    [generated] = [r["metadata"]["name"] for r in resources if r["kind"] == "ConfigMap"]
    assert generated.startswith("extra-") and generated != "extra"
    [container] = containers(resources)
    assert container["envFrom"] == [{"configMapRef": {"name": generated}}]


def test_a_broken_kustomization_is_refused_with_what_kustomize_says(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(ValueError, match=r"kubectl kustomize .*missing\.yaml"):
        render(tmp_path)


def test_an_unknown_command_or_option_is_refused() -> None:
    with pytest.raises(AssertionError):
        cli_command(["no-such-command"])
    with pytest.raises(Exception, match="No such option: --no-such-option"):
        cli_command(["relay", "--no-such-option"])
    with pytest.raises(Exception, match="valid integer"):
        cli_command(["relay", "--health-port", "not-a-port"])
