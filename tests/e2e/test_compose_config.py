"""docker-compose.yml is valid (as `docker compose config` resolves it) and runs real CLI commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from api.cli import app

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
PROJECT_PROCESSES = {"api", "projector", "relay", "consume", "results", "worker", "sweeper"}
SECRETS = {"STUDIO_JWT_SECRET": "compose-test-jwt", "STUDIO_WEBHOOK_SECRET": "compose-test-webhook",
           "STUDIO_MEDIA_SIGNING_KEY": "compose-test-media"}


def compose_command() -> list[str]:
    """`docker compose` where the plugin is installed, else the standalone `docker-compose`."""
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("the docker CLI has no compose plugin and docker-compose is not installed")


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `compose config` on the project's file with exactly ``env`` added to PATH and HOME."""
    base = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return subprocess.run([*compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, env={**base, **env}, cwd=ROOT, timeout=60, check=False)


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The compose file as the compose CLI resolves it, with the required secrets given."""
    done = compose_config(SECRETS)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def test_compose_runs_kafka_postgres_and_every_project_process(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services) == {"postgres", "kafka", "kafka-init"} | PROJECT_PROCESSES
    assert services["postgres"]["image"] == "postgres:16"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_project_process_is_the_one_image_running_a_real_cli_command(resolved: dict[str, Any]) -> None:
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name in PROJECT_PROCESSES:
        service = resolved["services"][name]
        assert service["build"]["context"] == str(ROOT)
        assert service["image"] == "studio-ledger:local"
        assert service["command"][0] in commands, f"{name} runs unknown command {service['command']}"
        assert service["environment"]["STUDIO_STORE"] == "postgres"
        assert service["environment"]["STUDIO_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert set(service["depends_on"]) == {"postgres", "kafka", "kafka-init"}


def test_compose_refuses_to_start_without_secrets_of_your_own() -> None:
    done = compose_config({})
    assert done.returncode != 0
    assert "STUDIO_JWT_SECRET" in done.stderr


def test_the_image_starts_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["studio-ledger"]' in dockerfile
    for package in ("ledger", "api", "media", "projections"):
        assert f"COPY {package} ./{package}" in dockerfile
