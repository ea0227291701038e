"""Settings of the API part (the HTTP service), from STUDIO_* environment variables, checked before it starts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from service.settings.frontend import check_checkout_url, check_origins
from service.settings.parts import AlertWebhookSettings, OccurredSettings, PlatformSettings, PolicySettings

EMBEDDED_JWT_SECRET = "embedded-default-jwt-secret-do-not-use-in-production"  # noqa: S105 (the known default)
EMBEDDED_WEBHOOK_SECRET = "embedded-default-webhook-secret-do-not-use-in-production"  # noqa: S105


class ApiSettings(PolicySettings, OccurredSettings, PlatformSettings, AlertWebhookSettings):
    """How the API listens, authenticates callers, verifies webhooks and reads its projections."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""  # default: http://<host>:<port> as served (127.0.0.1 when listening on every address)
    dispatch: Literal["inprocess", "kafka"] = "inprocess"
    read_db_url: str = ""  # default: read.db in the data folder, or the event store's PostgreSQL database
    threads: int = Field(default=8, ge=1, le=200)  # worker threads for the synchronous routes
    # Per learner, in this process: more at once is a 429 with Retry-After, so one learner cannot take the
    # threads (or the lanes below) that everyone's requests need.
    learner_generations: int = Field(default=2, ge=1, le=100)  # generation requests in flight
    learner_uploads: int = Field(default=2, ge=1, le=100)  # uploads in flight
    learner_fetches: int = Field(default=1, ge=1, le=100)  # input_image_url fetches in flight
    operator_previews: int = Field(default=2, ge=1, le=100)  # template previews an operator has rendering
    decode_threads: int = Field(default=1, ge=1, le=64)  # photos decoded at once (CPU and memory bound)
    command_threads: int = Field(default=4, ge=1, le=200)  # the async write routes' ledger and database work
    fetch_threads: int = Field(default=4, ge=1, le=256)  # input_image_url fetched at once (network bound)
    run_projector: bool = True  # off when `studio-ledger projector` runs as its own process
    run_pipeline: bool = True  # in-process dispatch only: off when generations are rendered elsewhere
    run_sweeper: bool = True  # expire overdue holds here; off when `studio-ledger sweep --loop` runs apart
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr = SecretStr(EMBEDDED_JWT_SECRET)
    jwks_url: str = ""
    jwt_issuer: str = "studio-ledger"
    jwt_audience: str = "studio-ledger"
    token_ttl_minutes: int = Field(default=60 * 24, ge=1, le=60 * 24 * 30)
    webhook_secret: SecretStr = SecretStr(EMBEDDED_WEBHOOK_SECRET)
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    # The most bytes of body a request may send (JSON routes); uploads take upload_max_bytes more.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    read_wait_ms: int = Field(default=2000, ge=0, le=30_000)
    ready_max_lag: int = Field(default=10_000, ge=0)
    # /healthz fails when no worker thread runs a trivial function within this many seconds (under the
    # kubelet's 5 s probe timeout, so the probe says why).
    liveness_timeout_s: float = Field(default=3.0, ge=0.05, le=60.0)
    # How long a generation may take: its hold expires then, and the sweeper fails it with reason "timeout".
    generation_timeout_s: int = Field(default=900, ge=5, le=7 * 24 * 3600)
    # Reports of shared images (no sign-in): at most this many from one address an hour, in this process; and at
    # most this many open on one image (more answer 409: it is in the queue already).
    reports_per_address: int = Field(default=5, ge=1, le=1000)
    reports_per_image: int = Field(default=50, ge=1, le=10_000)
    checkout_url: str = ""  # the platform's checkout page for a pack: {pack_id} and {user_id} are filled in
    embed_origins: Annotated[list[str], NoDecode] = []  # origins that may frame the studio and hand it a token

    @field_validator("checkout_url")
    @classmethod
    def _checkout_url(cls, value: str) -> str:
        return check_checkout_url(value)

    @field_validator("embed_origins", mode="before")
    @classmethod
    def _embed_origins(cls, value: Any) -> list[str]:
        return check_origins(value)

    @model_validator(mode="after")
    def _debits_need_the_relay(self) -> ApiSettings:
        if self.platform_transport == "kafka" and self.dispatch != "kafka":
            # Only the relay asks for debits on Kafka: without it every recharge would wait and lapse unasked.
            raise ValueError("STUDIO_PLATFORM_TRANSPORT=kafka needs STUDIO_DISPATCH=kafka (the relay asks for the "
                             "debits on payments.requests)")
        return self

    @model_validator(mode="after")
    def _public_url_follows_the_listener(self) -> ApiSettings:
        if not self.public_url:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 (comparing)
            self.public_url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}"
        return self


class UnsafeSettings(ValueError):
    """Settings the service refuses to start with; names the variable."""


def check_secrets(settings: ApiSettings, *, embedded: bool) -> None:
    """Outside the embedded default, refuse the default or an empty JWT or webhook secret."""
    if embedded:
        return
    if settings.jwt_algorithm == "HS256":
        secret = settings.jwt_secret.get_secret_value()
        if not secret or secret == EMBEDDED_JWT_SECRET:
            raise UnsafeSettings("STUDIO_JWT_SECRET must be set to a secret of your own outside the embedded default")
        if len(secret) < 32:
            raise UnsafeSettings("STUDIO_JWT_SECRET must be at least 32 characters long")
    elif not settings.jwks_url:
        raise UnsafeSettings("STUDIO_JWKS_URL is required when STUDIO_JWT_ALGORITHM is RS256")
    webhook = settings.webhook_secret.get_secret_value()
    if not webhook or webhook == EMBEDDED_WEBHOOK_SECRET:
        raise UnsafeSettings("STUDIO_WEBHOOK_SECRET must be set to a secret of your own outside the embedded default")
    if len(webhook) < 32:
        raise UnsafeSettings("STUDIO_WEBHOOK_SECRET must be at least 32 characters long")
