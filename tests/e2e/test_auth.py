"""The auth matrix: every route for anonymous callers, another user, the owner and an admin."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.bootstrap import build_service
from service.settings import Settings
from service.settings.api import ApiSettings, UnsafeSettings
from service.settings.store import StoreSettings
from tests.support.http import POSTER, bearer, buy, client_for, finish, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
CALLERS: dict[str, dict[str, str]] = {"anonymous": {}, "other": bearer("bob"), "owner": bearer("alice"),
                                      "admin": bearer("root", "admin")}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A service where alice owns a finished, shared image."""
    service = service_for("sqlite", tmp_path_factory.mktemp("auth"), with_pipeline=False)
    with client_for(service) as client:
        buy(client)
        generation = client.post("/v1/generations", json=POSTER, headers={**CALLERS["owner"], **key()}).json()
        done = finish(service, generation["generation_id"])
        client.get(f"/v1/wallet?min_position={done}", headers=CALLERS["owner"])
        shared = client.post(f"/v1/generations/{generation['generation_id']}/share",
                             headers={**CALLERS["owner"], **key()}).json()
        client.get(f"/v1/wallet?min_position={shared['position']}", headers=CALLERS["owner"])
        yield client, {"gen": generation["generation_id"], "token": shared["share_url"].rsplit("/", 1)[1]}


# route, body, expected status for: anonymous, another user, the owner, an admin
MATRIX: list[tuple[str, str, Any, tuple[int, int, int, int]]] = [
    ("GET", "/v1/packs", None, (200, 200, 200, 200)),
    ("GET", "/v1/templates", None, (200, 200, 200, 200)),
    ("GET", "/v1/templates/poster-course-launch", None, (200, 200, 200, 200)),
    ("GET", "/v1/templates/poster-course-launch/preview.png", None, (200, 200, 200, 200)),
    ("GET", "/v1/config", None, (200, 200, 200, 200)),
    ("POST", "/v1/dev/token", {"user_id": "zoe"}, (404, 404, 404, 404)),  # secrets of its own: no demo
    ("GET", "/s/{token}", None, (200, 200, 200, 200)),
    ("GET", "/healthz", None, (200, 200, 200, 200)),
    ("GET", "/readyz", None, (200, 200, 200, 200)),
    ("GET", "/metrics", None, (200, 200, 200, 200)),
    ("GET", "/v1/wallet", None, (401, 200, 200, 200)),
    ("GET", "/v1/wallet/statement", None, (401, 200, 200, 200)),
    ("GET", "/v1/gallery", None, (401, 200, 200, 200)),
    ("GET", "/v1/generations/{gen}", None, (401, 404, 200, 404)),
    ("POST", "/v1/generations", POSTER, (401, 402, 202, 402)),
    ("POST", "/v1/generations/{gen}/share", None, (401, 404, 200, 404)),
    ("GET", "/v1/admin/wallets/alice", None, (401, 403, 403, 200)),
    ("POST", "/v1/admin/wallets/alice/grants", {"amount": 5, "reason": "support"}, (401, 403, 403, 201)),
    ("POST", "/v1/admin/wallets/alice/adjustments", {"delta": 1, "reason": "support"}, (401, 403, 403, 201)),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_every_route_answers_each_kind_of_caller_as_the_matrix_says(
        world: tuple[TestClient, dict[str, str]], method: str, path: str, body: Any,
        expected: tuple[int, int, int, int]) -> None:
    client, ids = world
    for (caller, headers), status in zip(CALLERS.items(), expected, strict=True):
        extra = key() if method == "POST" else {}
        response = client.request(method, path.format(**ids), json=body, headers={**headers, **extra})
        assert response.status_code == status, f"{caller}: {response.status_code} {response.text}"
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json()["type"] == "urn:studio-ledger:problem:unauthorized"


def test_the_webhook_takes_no_token_but_a_signature(world: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = world
    body, headers = signed(purchase())
    assert client.post("/v1/webhooks/payments", content=body, headers={**headers, **CALLERS["admin"],
                                                                        "Studio-Signature": "t=1,v1=00"}
                       ).status_code == 401
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200


def a_token(**changes: Any) -> dict[str, str]:
    """A bearer header for alice with some claims or the signing secret changed."""
    now = datetime.now(UTC)
    claims = {"sub": "alice", "iss": "studio-ledger", "aud": "studio-ledger", "iat": now,
              "exp": now + timedelta(minutes=5)}
    secret = changes.pop("secret", "a-test-secret-that-is-long-enough-for-hs256")
    algorithm = changes.pop("algorithm", "HS256")
    headers = changes.pop("headers", None)
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm=algorithm, headers=headers)}"}


@pytest.mark.parametrize(("name", "headers"), [
    ("expired", a_token(exp=datetime.now(UTC) - timedelta(minutes=5))),
    ("badly signed", a_token(secret="another-secret-that-is-long-enough-too")),
    ("wrong audience", a_token(aud="someone-else")),
    ("wrong issuer", a_token(iss="someone-else")),
    ("no subject", a_token(sub=None)),
    ("empty subject", a_token(sub=" ")),
    ("no expiry", a_token(exp=None)),
    ("not a jwt", {"Authorization": "Bearer not.a.jwt"}),
    ("not bearer", {"Authorization": "Basic YWxpY2U6cHc="}),
])
def test_a_token_that_is_not_right_is_a_401(world: tuple[TestClient, dict[str, str]], name: str,
                                           headers: dict[str, str]) -> None:
    client, _ = world
    response = client.get("/v1/wallet", headers=headers)
    assert response.status_code == 401, name
    assert "Traceback" not in response.text


class _Jwks(BaseHTTPRequestHandler):
    keys: dict[str, Any] = {}

    def do_GET(self) -> None:
        body = json.dumps(self.keys).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_rs256_tokens_are_checked_against_the_jwks_url(tmp_path: Path) -> None:
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    _Jwks.keys = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    server = HTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        service = service_for("sqlite", tmp_path, with_pipeline=False, jwt_algorithm="RS256",
                              jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json")
        with client_for(service) as client:
            good = a_token(secret=signing, algorithm="RS256", headers={"kid": "k1"}, roles=["admin"])
            forged = a_token(secret=stranger, algorithm="RS256", headers={"kid": "k1"}, roles=["admin"])
            assert client.get("/v1/admin/wallets/nobody", headers=good).status_code == 404
            assert client.get("/v1/wallet", headers=forged).status_code == 401
            assert client.get("/v1/wallet", headers=a_token()).status_code == 401
    finally:
        server.shutdown()


@pytest.mark.parametrize("secret", ["", "embedded-default-jwt-secret-do-not-use-in-production"])
def test_outside_the_embedded_default_the_service_refuses_a_default_or_empty_secret(
        tmp_path: Path, secret: str) -> None:
    api = ApiSettings(jwt_secret=SecretStr(secret), webhook_secret=SecretStr("w" * 40))
    with pytest.raises(UnsafeSettings, match="STUDIO_JWT_SECRET"):
        build_service(Settings(api=api, store=StoreSettings(backend="postgres", data_dir=tmp_path)))
    kafka = ApiSettings(jwt_secret=SecretStr(secret), dispatch="kafka")
    with pytest.raises(UnsafeSettings, match="STUDIO_JWT_SECRET"):
        build_service(Settings(api=kafka, store=StoreSettings(backend="sqlite", data_dir=tmp_path)))


def test_outside_the_embedded_default_the_webhook_secret_must_be_set_too(tmp_path: Path) -> None:
    api = ApiSettings(jwt_secret=SecretStr("j" * 40))
    with pytest.raises(UnsafeSettings, match="STUDIO_WEBHOOK_SECRET"):
        build_service(Settings(api=api, store=StoreSettings(backend="postgres", data_dir=tmp_path)))


def test_tokens_are_printed_only_on_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.processes.serve import token

    monkeypatch.setenv("STUDIO_STORE", "sqlite")
    claims = jwt.decode(token("alice", ("admin",), 5), options={"verify_signature": False})
    assert (claims["sub"], claims["roles"], claims["aud"]) == ("alice", ["admin"], "studio-ledger")
    monkeypatch.setenv("STUDIO_STORE", "postgres")
    with pytest.raises(PermissionError):
        token("alice", (), None)
