"""`studio-ledger kafka init` creates every topic on a real broker, and each Kafka process refuses to start
without its topics, in one line naming the missing one."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.messaging.topics import existing_topics, process_topics, project_topics
from service.settings.messaging import MessagingSettings
from tests.support.kafka_broker import create_topics, free_port, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TOPIC_SETTINGS = ("events", "generation_requested", "generation_completed", "generation_failed", "referrals",
                  "payments", "payments_requests", "alerts")


def topic_env(servers: str, **extra: str) -> dict[str, str]:
    """Settings naming a fresh set of topics on ``servers`` (so that tests never share one)."""
    env: dict[str, str] = {}
    env.update({f"STUDIO_{name.upper()}_TOPIC": unique_name(name.replace("_", ".")) for name in TOPIC_SETTINGS})
    env.update({"STUDIO_KAFKA_BOOTSTRAP_SERVERS": servers, "STUDIO_KAFKA_TOPIC_CHECK_S": "5", **extra})
    return env


def studio_ledger(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI in this process (as `studio-ledger ARGS` with ``env``); its exit code and output."""
    result = CliRunner().invoke(app, list(args), env={**{k: None for k in os.environ if k.startswith("STUDIO_")},
                                                      **env})
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def settings_of(env: dict[str, str]) -> MessagingSettings:
    """The messaging settings the processes read from ``env``."""
    return MessagingSettings(**{k[len("STUDIO_"):].lower(): v for k, v in env.items()  # type: ignore[arg-type]
                                if k.startswith("STUDIO_") and k.endswith("_TOPIC")},
                             kafka_bootstrap_servers=env["STUDIO_KAFKA_BOOTSTRAP_SERVERS"])


@pytest.fixture(params=["noida", "tansu"])
def servers(request: pytest.FixtureRequest) -> str:
    """Each local broker in turn."""
    fixture = "kafka_bootstrap" if request.param == "noida" else "tansu_bootstrap"
    return str(request.getfixturevalue(fixture))


async def test_kafka_init_creates_every_topic_with_its_partitions_and_a_second_run_changes_nothing(
        servers: str) -> None:
    env = topic_env(servers, STUDIO_KAFKA_PARTITIONS="3")
    wanted = [spec.name for spec in project_topics(settings_of(env))]

    first = await asyncio.to_thread(studio_ledger, "kafka", "init", env=env)
    assert first.returncode == 0, first.stderr
    assert [line.split()[:2] for line in first.stdout.splitlines()] == [["created", name] for name in wanted]
    found = await existing_topics(servers)
    assert {name: found.get(name) for name in wanted} == dict.fromkeys(wanted, 3)

    again = await asyncio.to_thread(studio_ledger, "kafka", "init", env=env)
    assert again.returncode == 0, again.stderr
    assert [line.split()[:2] for line in again.stdout.splitlines()] == [["exists", name] for name in wanted]


@pytest.mark.parametrize("process", ["relay", "consume", "results", "worker"])
async def test_each_kafka_process_refuses_to_start_naming_a_topic_it_lacks(kafka_bootstrap: str,
                                                                          process: str) -> None:
    servers = kafka_bootstrap
    env = topic_env(servers)
    needed = process_topics(settings_of(env), process)  # type: ignore[arg-type]
    await create_topics(servers, *needed[:-1])  # all but the last one it reads or writes

    done = await asyncio.to_thread(studio_ledger, process, env=env)

    assert done.returncode == 2
    assert done.stderr.strip() == (f"cannot start the {process}: Kafka topic {needed[-1]!r} does not exist at "
                                   f"{servers}; create the topics with `studio-ledger kafka init`")
    assert needed[-1] not in await existing_topics(servers)  # looking did not create it


def test_kafka_init_names_a_broker_it_cannot_reach_in_one_line() -> None:
    servers = f"127.0.0.1:{free_port()}"
    done = studio_ledger("kafka", "init", env=topic_env(servers, STUDIO_KAFKA_TOPIC_CHECK_S="1"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"kafka init failed: cannot reach the Kafka broker at {servers}")


def test_kafka_init_names_a_bad_setting_in_one_line() -> None:
    done = studio_ledger("kafka", "init", env=topic_env("127.0.0.1:9", STUDIO_KAFKA_PARTITIONS="0"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("kafka init failed: STUDIO_KAFKA_PARTITIONS: ")
    assert "Traceback" not in done.stderr
