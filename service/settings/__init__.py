"""Settings of every process, from STUDIO_* environment variables: one tree, ``Settings``, whose parts
(store, api, messaging, media) each read their own variables; a variable shared by several parts
is defined once, in ``service.settings.parts``."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from service.settings.api import EMBEDDED_JWT_SECRET, EMBEDDED_WEBHOOK_SECRET, ApiSettings
from service.settings.finance import FinanceSettings
from service.settings.media import MediaSettings
from service.settings.messaging import MessagingSettings
from service.settings.parts import PolicySettings
from service.settings.store import StoreSettings


class Settings:
    """Everything the processes are configured with. A part not given is read from the environment when
    first used, so a process reads only the parts it needs (a bad variable of another part does not stop it)."""

    def __init__(self, *, store: StoreSettings | None = None, api: ApiSettings | None = None,
                 messaging: MessagingSettings | None = None, media: MediaSettings | None = None) -> None:
        self._store, self._api, self._messaging, self._media = store, api, messaging, media
        self._finance: FinanceSettings | None = None

    @classmethod
    def read(cls, **api: Any) -> Settings:
        """The settings from the environment, ``api`` overriding API settings (``serve --host --port``)."""
        return cls(api=ApiSettings(**api)) if api else cls()

    @property
    def store(self) -> StoreSettings:
        """Where the event store lives and how the ledger writes to it."""
        if self._store is None:
            self._store = StoreSettings()
        return self._store

    @property
    def api(self) -> ApiSettings:
        """How the API listens, authenticates and reads."""
        if self._api is None:
            self._api = ApiSettings()
        return self._api

    @property
    def messaging(self) -> MessagingSettings:
        """The relay's and the inbound consumers' Kafka settings."""
        if self._messaging is None:
            self._messaging = MessagingSettings()
        return self._messaging

    @property
    def finance(self) -> FinanceSettings:
        """The reporting currency and the exchange rates finance's reports convert with."""
        if self._finance is None:
            self._finance = FinanceSettings()
        return self._finance

    @property
    def media(self) -> MediaSettings:
        """The pipeline's model, image store and worker settings (its data folder the store's)."""
        if self._media is None:  # the data folder: the store's when given, else read as the store reads it
            self._media = (MediaSettings() if self._store is None
                           else MediaSettings(data_dir=self._store.data_dir))
        return self._media

    @property
    def policy_file(self) -> Path | None:
        """STUDIO_POLICY_FILE, as the part already read has it (a consumer reads no API settings)."""
        part: PolicySettings | None = self._api or self._messaging
        return (part or PolicySettings()).policy_file

    @property
    def embedded(self) -> bool:
        """Whether this is the embedded default: a SQLite (or memory) event store and in-process dispatch."""
        return is_embedded(self.store, self.api)

    @property
    def read_db_url(self) -> str:
        """The read database: as configured, else beside the event store."""
        return read_db_url(self.store, self.api)


def is_embedded(store: StoreSettings, api: ApiSettings) -> bool:
    """Whether this is the embedded default: a SQLite (or memory) event store and in-process dispatch."""
    return store.backend != "postgres" and api.dispatch == "inprocess"


def demo_refused(store: StoreSettings, api: ApiSettings) -> str | None:
    """Why the demo sign-in and purchase (``/v1/dev``) are off, or None where they are on: only on the
    untouched embedded default listening on loopback, where whoever reaches the service is at this machine.
    With secrets of the operator's own they would mint that operator's admin tokens for anyone."""
    if not is_embedded(store, api):
        return "outside the embedded default"
    if (api.jwt_algorithm != "HS256" or api.jwks_url or api.jwt_secret.get_secret_value() != EMBEDDED_JWT_SECRET
            or api.webhook_secret.get_secret_value() != EMBEDDED_WEBHOOK_SECRET):
        return "STUDIO_JWT_SECRET, STUDIO_WEBHOOK_SECRET or STUDIO_JWKS_URL is set"
    if not is_loopback(api.host):
        return f"listening on {api.host}, not on loopback only"
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def read_db_url(store: StoreSettings, api: ApiSettings) -> str:
    """The read database: as configured, else beside the event store (SQLite file or the same PostgreSQL)."""
    if api.read_db_url:
        return api.read_db_url
    if store.backend == "memory":
        return "sqlite://"
    if store.backend == "sqlite":
        store.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{store.data_dir / 'read.db'}"
    password = quote(store.postgres_password.get_secret_value(), safe="")
    user = quote(store.postgres_user, safe="") + (f":{password}" if password else "")
    return (f"postgresql+psycopg://{user}@{store.postgres_host}:{store.postgres_port}/{store.postgres_db}"
            f"?options=-csearch_path%3D{store.postgres_schema}")


__all__ = ["ApiSettings", "MediaSettings", "MessagingSettings", "Settings", "StoreSettings", "demo_refused",
           "is_embedded", "is_loopback", "read_db_url"]
