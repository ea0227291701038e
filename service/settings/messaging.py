"""Settings of the Kafka processes (relay and inbound consumers), from STUDIO_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MessagingSettings(BaseSettings):
    """Where the broker is and how the relay and the consumers talk to it."""

    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_idempotence: bool = True  # off only for brokers without idempotent producers
    kafka_linger_ms: int = Field(default=5, ge=0, le=1000)
    kafka_max_batch_bytes: int = Field(default=512 * 1024, ge=16 * 1024)
    events_topic: str = Field(default="ledger.events", min_length=1, max_length=249)
    generation_requested_topic: str = Field(default="generation.requested", min_length=1, max_length=240)
    generation_completed_topic: str = Field(default="generation.completed", min_length=1, max_length=240)
    generation_failed_topic: str = Field(default="generation.failed", min_length=1, max_length=240)
    referrals_topic: str = Field(default="affiliate.referrals", min_length=1, max_length=240)
    payments_topic: str = Field(default="payments.events", min_length=1, max_length=240)
    relay_name: str = Field(default="relay", min_length=1, max_length=100)
    relay_page_size: int = Field(default=1000, ge=1, le=50_000)
    referral_group_id: str = Field(default="studio-ledger-referrals", min_length=1)
    payment_group_id: str = Field(default="studio-ledger-payments", min_length=1)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1000)
    consumer_rebalance_timeout_ms: int = Field(default=60_000, ge=1000)  # how long a join waits for members
    policy_file: Path | None = None
    # What `studio-ledger kafka init` creates topics with (a production cluster wants replication 3).
    kafka_partitions: int = Field(default=6, ge=1, le=10_000)
    kafka_replication_factor: int = Field(default=1, ge=1, le=32)
    kafka_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1)  # -1: keep for ever
    kafka_dlq_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, ge=-1)
    kafka_topic_check_s: float = Field(default=30.0, gt=0, le=600)  # how long a start waits for the broker

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        bad = [s for s in servers if not s.rpartition(":")[2].isdigit() or not s.rpartition(":")[0]]
        if not servers or bad:
            raise ValueError(f"bootstrap servers must be host:port[,host:port...], got {value!r}")
        return ",".join(servers)
