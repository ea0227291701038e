"""Settings of the Kafka processes (relay and inbound consumers), from STUDIO_* environment variables."""

from __future__ import annotations

from pydantic import Field

from service.settings.parts import KafkaSettings, OccurredSettings, PolicySettings


class MessagingSettings(KafkaSettings, PolicySettings, OccurredSettings):
    """How the relay and the inbound consumers talk to the broker (its address and the generation topics
    are shared with the pipeline: ``KafkaSettings``)."""

    kafka_linger_ms: int = Field(default=5, ge=0, le=1000)
    kafka_max_batch_bytes: int = Field(default=512 * 1024, ge=16 * 1024)
    events_topic: str = Field(default="ledger.events", min_length=1, max_length=249)
    referrals_topic: str = Field(default="affiliate.referrals", min_length=1, max_length=240)
    payments_topic: str = Field(default="payments.events", min_length=1, max_length=240)
    # Where the relay asks the platform for debits when STUDIO_PLATFORM_TRANSPORT=kafka (answers: payments_topic).
    payments_requests_topic: str = Field(default="payments.requests", min_length=1, max_length=249)
    alerts_topic: str = Field(default="wallet.alerts", min_length=1, max_length=249)  # published beside the relay
    relay_name: str = Field(default="relay", min_length=1, max_length=100)
    relay_page_size: int = Field(default=1000, ge=1, le=50_000)
    referral_group_id: str = Field(default="studio-ledger-referrals", min_length=1)
    payment_group_id: str = Field(default="studio-ledger-payments", min_length=1)
    # What `studio-ledger kafka init` creates topics with (a production cluster wants replication 3).
    kafka_partitions: int = Field(default=6, ge=1, le=10_000)
    kafka_replication_factor: int = Field(default=1, ge=1, le=32)
    kafka_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1)  # -1: keep for ever
    kafka_dlq_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, ge=-1)
    kafka_topic_check_s: float = Field(default=30.0, gt=0, le=600)  # how long a start waits for the broker

