"""Settings of the media part: the generation pipeline (model, image store, uploads, worker), checked at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from media.image_stores.signing import EMBEDDED_MEDIA_KEY
from media.threads import STORE_THREADS
from service.settings.parts import DataSettings, KafkaSettings, RetentionSettings

if TYPE_CHECKING:  # the pipeline's classes, imported when a process builds them (settings stay light to read)
    from media.fetch import Fetcher
    from media.handler import RetryPolicy

Provider = Literal["local", "replicate", "openai", "stability", "cog", "huggingface"]
KEYS: dict[str, tuple[str, ...]] = {  # what each provider or store cannot start without
    "replicate": ("replicate_api_token",),
    "openai": ("openai_api_key",),
    "stability": ("stability_api_key",),
    "cog": ("cog_url",),
    "huggingface": ("huggingface_token",),
    "s3": ("s3_bucket", "s3_access_key_id", "s3_secret_access_key"),
    "cloudinary": ("cloudinary_cloud_name", "cloudinary_api_key", "cloudinary_api_secret"),
}


class MediaSettings(KafkaSettings, DataSettings, RetentionSettings):
    """Which image model and store the pipeline uses, their keys, and its timeouts and retries (the
    broker and the data folder are shared with the other parts)."""

    image_provider: Literal["template", "local", "replicate", "openai", "stability", "cog", "huggingface"] = "local"
    template_providers: Annotated[tuple[Provider, ...], NoDecode] = ("replicate", "openai", "stability", "cog", "local")
    image_store: Literal["local", "s3", "cloudinary"] = "local"
    templates_dir: Path | None = None  # the catalogue files imported on first start (default: the shipped ones)
    template_refresh_s: float = Field(default=1.0, gt=0, le=60)  # how often a process rereads the templates

    replicate_api_token: SecretStr | None = None
    replicate_model: str | None = None
    replicate_edit_model: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str | None = None
    stability_api_key: SecretStr | None = None
    stability_base_url: str = "https://api.stability.ai"
    stability_model: str | None = None
    cog_url: str | None = None
    cog_token: SecretStr | None = None
    huggingface_token: SecretStr | None = None
    huggingface_inference_provider: str = Field(default="hf-inference", min_length=1)  # or fal-ai, replicate, ...
    huggingface_model: str | None = None
    local_scale: float = Field(default=1.0, ge=0.05, le=2)  # art size relative to the native output size
    local_delay_s: float = Field(default=0.0, ge=0, le=600)  # simulated render time, for drills and load tests
    model_failure_rate: float = Field(default=0.0, ge=0, le=1)  # drills: this fraction of model calls fails
    model_timeout_rate: float = Field(default=0.0, ge=0, le=1)  # drills: this fraction never answers

    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_public_url: str | None = None
    cloudinary_cloud_name: str | None = None
    cloudinary_api_key: str | None = None
    cloudinary_api_secret: SecretStr | None = None
    cloudinary_auth_token_key: SecretStr | None = None  # hex key of token-based authentication: expiring URLs

    media_signing_key: SecretStr = SecretStr(EMBEDDED_MEDIA_KEY)  # signs the local store's /media URLs
    media_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)  # how long a signed image URL works
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    upload_ttl_minutes: int = Field(default=24 * 60, ge=15, le=30 * 24 * 60)  # an unused upload is deleted after
    upload_quota: int = Field(default=20, ge=1, le=1000)  # uploads one user may keep at a time
    upload_purge_interval_s: float = Field(default=600.0, ge=0, le=86_400)  # 0: this process never purges
    # Decoding costs 4 bytes a pixel: 4096x4096 (64 MB) is twice the 2048 px side an upload is shrunk to and
    # takes any phone's 12 MP photo; 6300x6300 would take 160 MB and 2-3 s, before this cap was lowered.
    upload_max_pixels: int = Field(default=4096 * 4096, ge=1_000_000, le=50_000_000)
    fetch_timeout_s: float = Field(default=10.0, gt=0, le=120)  # fetching an input_image_url, in all
    fetch_max_redirects: int = Field(default=3, ge=0, le=10)

    model_timeout_s: float = Field(default=120.0, gt=0, le=900)
    store_timeout_s: float = Field(default=30.0, gt=0, le=300)
    store_threads: int = Field(default=STORE_THREADS, ge=1, le=256)  # the image store's threads for its blocking I/O
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_s: float = Field(default=1.0, ge=0, le=60)
    backoff_max_s: float = Field(default=30.0, ge=0, le=600)

    consumer_fetch_max_wait_ms: int = Field(default=100, ge=0, le=10_000)
    worker_concurrency: int = Field(default=1, ge=1, le=64)  # group members per worker process
    results_concurrency: int = Field(default=1, ge=1, le=64)
    worker_group: str = Field(default="studio-generation-workers", min_length=1)
    results_group: str = Field(default="studio-ledger-results", min_length=1)
    sweep_interval_s: float = Field(default=15.0, gt=0, le=3600)

    # Moderation of the learner's words before any credit is held: the local word lists always, then a provider.
    moderation_words: Path | None = None  # word lists of the operator's own (the shipped words.toml's shape)
    moderation_provider: Literal["none", "openai", "huggingface"] = "none"
    moderation_openai_model: str = Field(default="omni-moderation-latest", min_length=1)
    moderation_huggingface_model: str = Field(default="textdetox/xlmr-large-toxicity-classifier", min_length=1)
    moderation_huggingface_labels: Annotated[tuple[str, ...], NoDecode] = ("toxic",)  # the labels that refuse
    moderation_threshold: float = Field(default=0.5, gt=0, le=1)  # a label's score from which it refuses
    moderation_timeout_s: float = Field(default=10.0, gt=0, le=60)

    # Content credentials: the PEM chain (signing certificate first) and its key that sign every image's C2PA
    # manifest; unset, a self-signed pair is made on first start in the data folder's c2pa/.
    c2pa_cert: Path | None = None
    c2pa_key: Path | None = None

    @field_validator("template_providers", "moderation_huggingface_labels", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _rates_add_up(self) -> MediaSettings:
        if self.model_failure_rate + self.model_timeout_rate > 1:
            raise ValueError("STUDIO_MODEL_FAILURE_RATE and STUDIO_MODEL_TIMEOUT_RATE must add up to at most 1, "
                             f"got {self.model_failure_rate} + {self.model_timeout_rate}")
        return self

    @model_validator(mode="after")
    def _c2pa_pair(self) -> MediaSettings:
        if (self.c2pa_cert is None) != (self.c2pa_key is None):
            raise ValueError("STUDIO_C2PA_CERT and STUDIO_C2PA_KEY go together: set both or neither")
        return self

    @model_validator(mode="after")
    def _keys_present(self) -> MediaSettings:
        missing = [f"STUDIO_{name.upper()}" for part in self.needs() for name in KEYS.get(part, ())
                   if not getattr(self, name)]
        if missing:
            raise ValueError(f"missing setting(s) {', '.join(sorted(set(missing)))} "
                             f"for image provider {self.image_provider!r}, store {self.image_store!r} and "
                             f"moderation provider {self.moderation_provider!r}")
        return self

    def weak_media_key(self, *, embedded: bool) -> str | None:
        """What is wrong with the media signing key outside the embedded default (local store only), or None."""
        key = self.media_signing_key.get_secret_value()
        if embedded or self.image_store != "local":
            return None
        if not key or key == EMBEDDED_MEDIA_KEY:
            return "STUDIO_MEDIA_SIGNING_KEY must be set to a secret of your own outside the embedded default"
        if len(key) < 32:
            return "STUDIO_MEDIA_SIGNING_KEY must be at least 32 characters long"
        return None

    def fetcher(self, *, allow_http: bool) -> Fetcher:
        """How input_image_url is fetched (http allowed on the embedded default only)."""
        from media.fetch import Fetcher

        return Fetcher(allow_http=allow_http, timeout=self.fetch_timeout_s, max_bytes=self.upload_max_bytes,
                       max_redirects=self.fetch_max_redirects, max_pixels=self.upload_max_pixels)

    def retry_policy(self) -> RetryPolicy:
        """How the worker retries and times out calls to the model and the store."""
        from media.handler import RetryPolicy

        return RetryPolicy(attempts=self.max_attempts, backoff=self.backoff_s, backoff_max=self.backoff_max_s,
                           timeout=self.model_timeout_s)

    def providers(self) -> tuple[str, ...]:
        """The model providers this process may call."""
        if self.image_provider == "template":
            return tuple(dict.fromkeys(self.template_providers))
        return (self.image_provider,)

    def needs(self) -> tuple[str, ...]:
        """The providers, the store and the moderation provider whose settings must be present."""
        moderation = () if self.moderation_provider == "none" else (self.moderation_provider,)
        return (*self.providers(), self.image_store, *moderation)
