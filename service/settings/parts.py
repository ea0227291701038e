"""Settings shared by several processes, each defined once and read from the same STUDIO_* variable."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.occurred import OccurredBounds

Compression = Literal["none", "gzip", "snappy", "lz4", "zstd"]  # Kafka's codecs, or none

PORT = re.compile(r"[0-9]{1,5}")  # ASCII: str.isdigit() also takes '²', which int() then refuses


class StudioSettings(BaseSettings):
    """Every settings class reads STUDIO_* variables and ignores the ones of other parts."""

    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")


class DataSettings(StudioSettings):
    """The data folder: the SQLite event store, the read database beside it, the local image store."""

    data_dir: Path = Path("data")


class RetentionSettings(StudioSettings):
    """How long what a learner never shared is kept (the sweeper deletes it after; its credits stay)."""

    unshared_image_retention_days: int = Field(default=0, ge=0, le=36_500)  # 0: kept until the learner deletes it

    def unshared_image_retention(self) -> timedelta | None:
        """The retention period of images never shared, or None when they are kept."""
        return timedelta(days=self.unshared_image_retention_days) if self.unshared_image_retention_days else None


class PolicySettings(StudioSettings):
    """The credits policy file (packs, bonuses, expiries)."""

    policy_file: Path | None = None  # default: service/policy.toml


class OccurredSettings(StudioSettings):
    """How far a partner's ``occurred_at`` (payments webhook, Kafka messages) may be from the service's clock."""

    occurred_at_max_skew_s: int = Field(default=300, ge=0, le=24 * 3600)  # ahead: clocks drift, not by hours
    occurred_at_max_age_days: int = Field(default=30, ge=1, le=3650)  # behind: older is a typo or a replay

    def occurred_bounds(self) -> OccurredBounds:
        """The bounds a partner's ``occurred_at`` is checked against."""
        return OccurredBounds(max_skew=timedelta(seconds=self.occurred_at_max_skew_s),
                              max_age=timedelta(days=self.occurred_at_max_age_days))


class KafkaSettings(StudioSettings):
    """The broker, the generation topics and how a consumer group member is timed."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_idempotence: bool = True  # off only for brokers without idempotent producers
    # How our own producers compress their batches; consumers read every codec whatever this says.
    kafka_compression: Compression = "none"
    generation_requested_topic: str = Field(default="generation.requested", min_length=1, max_length=240)
    generation_completed_topic: str = Field(default="generation.completed", min_length=1, max_length=240)
    generation_failed_topic: str = Field(default="generation.failed", min_length=1, max_length=240)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1000)
    consumer_rebalance_timeout_ms: int = Field(default=60_000, ge=1000)  # how long a join waits for members

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        bad = [s for s in servers if not PORT.fullmatch(s.rpartition(":")[2]) or not s.rpartition(":")[0]]
        if not servers or bad:
            raise ValueError(f"bootstrap servers must be host:port[,host:port...], got {value!r}")
        return ",".join(servers)


class PlatformSettings(StudioSettings):
    """The platform's wallet that recharges debit, and how a recharge is driven to its end."""

    platform_transport: Literal["http", "kafka"] = "http"  # kafka: debits asked on payments.requests, by the relay
    platform_url: str = ""  # empty: the demo wallet (every learner starts with a labelled demo balance)
    platform_secret: SecretStr = SecretStr("")  # signs our requests to the platform, as our webhook's are signed
    platform_timeout_s: float = Field(default=5.0, gt=0, le=60)  # one request to the platform, at most
    platform_demo_balance_minor: int = Field(default=50_000, ge=0, le=10**12)  # each learner's demo balance
    recharge_attempts: int = Field(default=3, ge=1, le=20)  # debits tried (same debit id) before asking its fate
    recharge_retry_s: float = Field(default=2.0, gt=0, le=3600)  # the first wait between attempts; then doubled
    recharge_deadline_s: int = Field(default=900, ge=10, le=7 * 24 * 3600)  # unresolved by then: a finding

    @field_validator("platform_url")
    @classmethod
    def _platform_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError(f"STUDIO_PLATFORM_URL must be an http(s) URL without query or fragment, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _signed(self) -> PlatformSettings:
        if self.platform_transport == "kafka" and self.platform_url:
            raise ValueError("STUDIO_PLATFORM_TRANSPORT=kafka asks for debits on Kafka: leave STUDIO_PLATFORM_URL "
                             "empty, or set STUDIO_PLATFORM_TRANSPORT=http")
        if self.platform_url and len(self.platform_secret.get_secret_value()) < 32:
            raise ValueError("STUDIO_PLATFORM_SECRET must be at least 32 characters when STUDIO_PLATFORM_URL is set: "
                             "every debit we ask for is signed with it")
        return self


class AlertWebhookSettings(StudioSettings):
    """Where alerts are delivered as signed webhooks (none: only listed at GET /v1/wallet/alerts)."""

    alert_webhook_url: str = ""
    alert_webhook_secret: SecretStr = SecretStr("")
    alert_webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    alert_webhook_attempts: int = Field(default=8, ge=1, le=50)  # then the delivery is failed, for a replay
    alert_webhook_retry_s: float = Field(default=5.0, gt=0, le=3600)  # the first wait; doubled up to an hour

    @field_validator("alert_webhook_url")
    @classmethod
    def _alert_webhook_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s#]*)?", value):
            raise ValueError(f"STUDIO_ALERT_WEBHOOK_URL must be an http(s) URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _signed(self) -> AlertWebhookSettings:
        if self.alert_webhook_url and len(self.alert_webhook_secret.get_secret_value()) < 32:
            raise ValueError("STUDIO_ALERT_WEBHOOK_SECRET must be at least 32 characters when "
                             "STUDIO_ALERT_WEBHOOK_URL is set: every alert we send is signed with it")
        return self
