"""Helpers of the HTTP tests: a service on a chosen store, tokens, signed webhooks."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.http.app import create_app
from api.http.auth import issue_token
from api.http.signatures import sign
from service.bootstrap import build_service
from service.container import Service
from service.settings import Settings
from service.settings.generation import GenerationSettings
from service.settings.http import ApiSettings
from service.settings.store import StoreSettings
from tests.conftest import PG

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
WEBHOOK_SECRET = "a-test-webhook-secret-long-enough"
MEDIA_KEY = "a-test-media-signing-key-long-enough"


def store_settings(kind: str, data_dir: Path, pg_env: dict[str, str] | None = None) -> StoreSettings:
    """Event store settings: SQLite in ``data_dir``, or the PostgreSQL schema of ``pg_env``."""
    if kind == "sqlite":
        return StoreSettings(store="sqlite", data_dir=data_dir)
    assert pg_env is not None
    return StoreSettings(store="postgres", data_dir=data_dir, postgres_db=pg_env["POSTGRES_DBNAME"],
                         postgres_schema=pg_env["POSTGRES_SCHEMA"], postgres_host=PG["host"],
                         postgres_port=int(PG["port"]), postgres_user=PG["user"],
                         postgres_password=SecretStr(PG["password"]), postgres_pool_size=4)


def api_settings(**overrides: Any) -> ApiSettings:
    """API settings with test secrets."""
    values: dict[str, Any] = {"jwt_secret": SecretStr(SECRET), "webhook_secret": SecretStr(WEBHOOK_SECRET),
                              "public_url": "http://testserver", "read_wait_ms": 3000, **overrides}
    return ApiSettings(**values)


def service_for(kind: str, data_dir: Path, pg_env: dict[str, str] | None = None, *, with_pipeline: bool = True,
                **overrides: Any) -> Service:
    """A service on ``kind`` (sqlite or postgres)."""
    return build_service(Settings(http=api_settings(**overrides), store=store_settings(kind, data_dir, pg_env),
                                  generation=media_settings(data_dir)), with_pipeline=with_pipeline)


def media_settings(data_dir: Path, **overrides: Any) -> GenerationSettings:
    """The local image store in ``data_dir`` with a test signing key."""
    return GenerationSettings(data_dir=data_dir, media_signing_key=SecretStr(MEDIA_KEY), **overrides)


def client_for(service: Service) -> TestClient:
    """A test client that starts the service on enter and stops it on exit."""
    return TestClient(create_app(service), raise_server_exceptions=False)


def bearer(user: str, *roles: str, secret: str = SECRET, **claims: Any) -> dict[str, str]:
    """Authorization header for ``user``."""
    token = issue_token(secret, user, issuer=claims.pop("issuer", "studio-ledger"),
                        audience=claims.pop("audience", "studio-ledger"), roles=roles, **claims)
    return {"Authorization": f"Bearer {token}"}


def key() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def signed(message: dict[str, Any], *, at: float | None = None, secret: str = WEBHOOK_SECRET,
           idempotency_key: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its headers, signed at ``at`` (now by default)."""
    body = json.dumps(message).encode()
    headers = {"Studio-Signature": sign(secret, body, int(at if at is not None else time.time())),
               "Content-Type": "application/json", "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    return body, headers


def purchase(pack: str = "starter", user: str = "alice", payment: str | None = None) -> dict[str, Any]:
    """A CreditPackPurchased message for a pack of the default policy."""
    prices = {"starter": 900, "creator": 4900, "studio": 9900}
    return {"type": "CreditPackPurchased", "payment_id": payment or f"pay-{uuid.uuid4().hex[:8]}",
            "user_id": user, "pack_id": pack, "amount_minor": prices[pack], "currency": "INR"}
