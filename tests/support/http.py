"""Helpers of the HTTP tests: a service on a chosen store, tokens, signed webhooks, and the steps many
tests take (buy a pack, request and finish a generation, upload a photo)."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr

from api.http.app import create_app
from api.http.auth import issue_token
from api.http.signatures import sign
from service.bootstrap import build_service
from service.container import Service
from service.settings import Settings
from service.settings.api import ApiSettings
from service.settings.media import MediaSettings
from service.settings.store import StoreSettings
from tests.conftest import PG

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
WEBHOOK_SECRET = "a-test-webhook-secret-long-enough"
MEDIA_KEY = "a-test-media-signing-key-long-enough"


def store_settings(kind: str, data_dir: Path, pg_env: dict[str, str] | None = None) -> StoreSettings:
    """Event store settings: SQLite in ``data_dir``, or the PostgreSQL schema of ``pg_env``."""
    if kind == "sqlite":
        return StoreSettings(backend="sqlite", data_dir=data_dir)
    assert pg_env is not None
    return StoreSettings(backend="postgres", data_dir=data_dir, postgres_db=pg_env["POSTGRES_DBNAME"],
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
    return build_service(Settings(api=api_settings(**overrides), store=store_settings(kind, data_dir, pg_env),
                                  media=media_settings(data_dir)), with_pipeline=with_pipeline)


def media_settings(data_dir: Path, **overrides: Any) -> MediaSettings:
    """The local image store in ``data_dir`` with a test signing key."""
    return MediaSettings(data_dir=data_dir, media_signing_key=SecretStr(MEDIA_KEY), **overrides)


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


ALICE = bearer("alice")  # the learner the helpers act for unless told
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


def buy(client: TestClient, pack: str = "starter", user: str = "alice") -> int:
    """Credit a pack through the signed webhook; the ledger position of the purchase."""
    body, headers = signed(purchase(pack, user))
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["position"])


def generate(client: TestClient, body: dict[str, Any] = POSTER, headers: dict[str, str] = ALICE) -> Any:
    """Request a generation with a fresh Idempotency-Key."""
    return client.post("/v1/generations", json=body, headers={**headers, **key()})


def finish(service: Service, generation_id: str) -> int:
    """Do what the pipeline does: start, then complete with a stored image; the completion's position."""
    gen = UUID(generation_id)
    service.ledger.start_generation(generation_id=gen, worker="test", at=service.clock())
    outcome = service.ledger.complete_generation(
        generation_id=gen, at=service.clock(), image_url=f"/media/gallery/{gen}.png", storage_id=str(gen),
        provider="local", model="local", seed=7, timings={"render": 0.1})
    return outcome.position


def photo(kind: str = "JPEG", size: tuple[int, int] = (640, 480), gps: bool = False) -> bytes:
    """A phone's photo: rotated by its EXIF orientation, with a maker and, when asked, where it was taken."""
    image = Image.new("RGB", size, "teal")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotated 90°, so the stored photo must come out upright
    if gps:
        exif[0x8825] = {1: "N", 2: (12.0, 58.0, 0.0), 3: "E", 4: (77.0, 35.0, 0.0)}  # GPSInfo: Bengaluru
    out = io.BytesIO()
    image.save(out, format=kind, exif=exif.tobytes())
    return out.getvalue()


def upload(client: TestClient, data: bytes, headers: dict[str, str] = ALICE, name: str = "me.jpg") -> Any:
    """Upload a photo with a fresh Idempotency-Key."""
    return client.post("/v1/uploads", files={"file": (name, data, "image/jpeg")}, headers={**headers, **key()})
