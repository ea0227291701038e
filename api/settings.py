"""Settings of the ledger's processes: one validated object, from STUDIO_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Where the event store lives and how the ledger writes to it."""

    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")

    store: Literal["memory", "sqlite", "postgres"] = "sqlite"
    data_dir: Path = Path("data")
    postgres_host: str = "127.0.0.1"
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    postgres_db: str = "studio_ledger"
    postgres_schema: str = "public"
    postgres_pool_size: int = Field(default=10, ge=1)
    group_commit: bool = True
    group_commit_linger_ms: float = Field(default=2.0, ge=0, le=100)
    group_commit_max_batch: int = Field(default=256, ge=1, le=10_000)
    burn_order: Annotated[tuple[str, ...], NoDecode] = ("expiry", "free", "oldest")
    aggregate_cache_size: int = Field(default=10_000, ge=0)

    @field_validator("burn_order", mode="before")
    @classmethod
    def _split_burn_order(cls, value: object) -> object:
        return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) else value

    @field_validator("burn_order")
    @classmethod
    def _check_burn_order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {"expiry", "free", "paid", "oldest", "newest"}
        unknown = [p for p in value if p not in known]
        if unknown or not value:
            raise ValueError(f"burn order parts must be among {sorted(known)}, got {list(value)}")
        return value

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for this store."""
        if self.store == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.store == "sqlite":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.data_dir / "events.db"),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.postgres_db,
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_SCHEMA": self.postgres_schema,
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size * 4),
        }



