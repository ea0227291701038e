"""The topics `studio-ledger kafka init` creates: every one a process reads or writes, with settings, and
docker-compose.yml runs it once before everything else on a broker that creates no topic by itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from api.messaging.topics import PROCESSES, process_topics, project_topics
from service.settings.messaging import MessagingSettings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parents[2]
DAY_MS = 24 * 3600 * 1000


def test_init_plans_every_topic_the_processes_read_or_write_dead_letter_topics_included() -> None:
    planned = [spec.name for spec in project_topics(MessagingSettings.model_construct())]
    assert sorted(planned) == sorted({
        "ledger.events", "generation.requested", "generation.completed", "generation.failed", "payments.requests",
        "wallet.alerts",
        "affiliate.referrals", "payments.events", "affiliate.referrals.dlq", "payments.events.dlq",
        "generation.requested.dlq", "generation.completed.dlq", "generation.failed.dlq"})
    assert len(planned) == len(set(planned))
    for process in PROCESSES:
        assert set(process_topics(MessagingSettings.model_construct(), process)) <= set(planned)


def test_each_process_needs_the_dead_letter_topic_of_every_topic_it_consumes() -> None:
    settings = MessagingSettings.model_construct()
    assert set(process_topics(settings, "consume")) == {
        "affiliate.referrals", "payments.events", "affiliate.referrals.dlq", "payments.events.dlq"}
    assert set(process_topics(settings, "results")) == {
        "generation.completed", "generation.failed", "generation.completed.dlq", "generation.failed.dlq"}
    assert set(process_topics(settings, "worker")) == {
        "generation.requested", "generation.requested.dlq", "generation.completed", "generation.failed"}
    assert set(process_topics(settings, "relay")) == {"ledger.events", "generation.requested", "payments.requests",
                                                      "wallet.alerts"}


def test_topics_take_their_names_partitions_replication_and_retention_from_settings() -> None:
    settings = MessagingSettings(payments_topic="shop.payments", kafka_partitions=12, kafka_replication_factor=3,
                                 kafka_retention_ms=2 * DAY_MS, kafka_dlq_retention_ms=-1)
    specs = {spec.name: spec for spec in project_topics(settings)}
    assert "shop.payments" in specs and "shop.payments.dlq" in specs and "payments.events" not in specs
    assert {(s.partitions, s.replication_factor) for s in specs.values()} == {(12, 3)}
    assert specs["shop.payments"].retention_ms == 2 * DAY_MS
    assert specs["shop.payments.dlq"].retention_ms == -1
    assert specs["shop.payments"].new_topic().topic_configs == {"retention.ms": str(2 * DAY_MS)}


def test_settings_refuse_a_topic_plan_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="kafka_partitions"):
        MessagingSettings(kafka_partitions=0)
    with pytest.raises(ValueError, match="kafka_replication_factor"):
        MessagingSettings(kafka_replication_factor=0)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as YAML (anchors resolved)."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_creates_the_topics_once_before_any_process_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    init = services["kafka-init"]
    assert init["command"] == ["kafka", "init"]
    assert init["restart"] == "no"
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("api", "projector", "relay", "consume", "results", "worker", "sweeper"):
        assert services[name]["depends_on"]["kafka-init"] == {"condition": "service_completed_successfully"}, name


def test_the_compose_broker_creates_no_topic_by_itself(compose: dict[str, Any]) -> None:
    assert compose["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
