"""Settings of the ledger's processes: one validated object, from STUDIO_* environment variables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from ledger.lots import BURN_ORDER_PARTS, DEFAULT_BURN_ORDER
from service.settings.parts import DataSettings


class StoreSettings(DataSettings):
    """Where the event store lives and how the ledger writes to it."""

    # The backend is STUDIO_STORE in the environment, as it always was; code names it ``backend=``.
    model_config = SettingsConfigDict(populate_by_name=True)
    backend: Literal["memory", "sqlite", "postgres"] = Field(default="sqlite", validation_alias="STUDIO_STORE")
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
    burn_order: Annotated[tuple[str, ...], NoDecode] = DEFAULT_BURN_ORDER
    aggregate_cache_size: int = Field(default=10_000, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _refuse_the_old_name(cls, values: object) -> object:
        # Unknown names are ignored (a part reads only its own variables): store= would quietly be sqlite.
        if isinstance(values, dict) and "store" in values:
            raise ValueError("the event store is chosen with backend= (STUDIO_STORE in the environment), not store=")
        return values

    @field_validator("burn_order", mode="before")
    @classmethod
    def _split_burn_order(cls, value: object) -> object:
        return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) else value

    @field_validator("burn_order")
    @classmethod
    def _check_burn_order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in BURN_ORDER_PARTS]
        if unknown or not value:
            raise ValueError(f"burn order parts must be among {sorted(BURN_ORDER_PARTS)}, got {list(value)}")
        return value

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for this store."""
        if self.backend == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.backend == "sqlite":
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


class StartupError(RuntimeError):
    """A process cannot start; its message is the one line the command prints (what is wrong, how to fix it)."""


def describe_invalid(error: ValidationError) -> str:
    """A settings validation error as one line naming each ``STUDIO_*`` variable, its problem and its value."""
    parts = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:  # a check of several settings together: its message names them
            parts.append(message)
            continue
        given = problem.get("input")
        said = isinstance(given, str | int | float) and ("got " in message or repr(given) in message)
        shown = f" (got {given!r})" if isinstance(given, str | int | float) and not said else ""
        name = "_".join(str(p) for p in problem["loc"]).upper()
        parts.append(f"{name if name.startswith('STUDIO_') else 'STUDIO_' + name}: {message}{shown}")
    return "; ".join(parts)


def check_database(settings: StoreSettings, *, timeout: float = 5.0) -> None:
    """On PostgreSQL, connect once before anything else does, so that a missing database or an
    unreachable server is named at once (the event store's pool would retry in silence for 30 s)."""
    if settings.backend != "postgres":
        return
    import psycopg

    where = f"{settings.postgres_host}:{settings.postgres_port}"
    try:
        psycopg.connect(host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user,
                        password=settings.postgres_password.get_secret_value(), dbname=settings.postgres_db,
                        connect_timeout=max(1, int(timeout))).close()
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        if "does not exist" in reason and settings.postgres_db in reason:
            raise StartupError(
                f'database "{settings.postgres_db}" does not exist on PostgreSQL at {where}: create it with '
                f'`createdb -h {settings.postgres_host} -p {settings.postgres_port} -U {settings.postgres_user} '
                f'{settings.postgres_db}` (or CREATE DATABASE in psql), or name another with STUDIO_POSTGRES_DB'
            ) from None
        if "authentication" in reason or "password" in reason or ("role" in reason and "does not exist" in reason):
            raise StartupError(f"PostgreSQL at {where} refused user {settings.postgres_user!r}: {reason} "
                               "(check STUDIO_POSTGRES_USER and STUDIO_POSTGRES_PASSWORD)") from None
        raise StartupError(f"cannot connect to PostgreSQL at {where}: {reason} (is it running? "
                           "check STUDIO_POSTGRES_HOST and STUDIO_POSTGRES_PORT)") from None
