"""Numbers, signatures and keys from headers and URL parameters are parsed as ASCII: anything else is a 4xx
problem naming it, never a 500 (``str.isdigit()`` and ``int()`` take Unicode digits such as '²' or '\u0663')."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.http.problems import Problem
from api.http.signatures import parse_header
from media.image_stores.signing import check, signature
from service.settings.messaging import MessagingSettings
from tests.support.http import MEDIA_KEY, bearer, key, purchase, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
HEX = "0" * 64
NOT_ASCII_DIGITS = ["²", "\u0663", "\uff11\uff12", "1²"]  # superscript, Arabic-Indic, fullwidth, mixed


@pytest.mark.parametrize("header", [
    "t=²,v1=" + HEX, "t=¹²³,v1=" + HEX, "t=\u0663,v1=" + HEX, f"t={int(time.time())}²,v1=" + HEX,
    f"t={int(time.time())},v1=" + "é" * 64, f"t={int(time.time())},v1=" + "\u0663" * 64, f"t={int(time.time())},v1=00",
])
def test_a_signature_with_unicode_digits_or_non_ascii_hex_is_a_401_naming_the_header(client: TestClient,
                                                                                      header: str) -> None:
    body, headers = signed(purchase())
    raw = header.encode("latin-1") if max(header) <= "\xff" else header.encode()  # servers decode as latin-1
    response = client.post("/v1/webhooks/payments", content=body,
                           headers={**headers, "Studio-Signature": raw})  # type: ignore[dict-item]
    assert response.status_code == 401, response.text
    assert response.json()["type"].endswith(":invalid-signature") and "Studio-Signature" in response.json()["detail"]


@pytest.mark.parametrize("header", ["t=²,v1=" + HEX, "t=¹²³,v1=" + HEX, "t=\u0661\u0667" + "\u0660" * 8 + ",v1=" + HEX,
                                    "t=1700000000,v1=" + "é" * 64])
def test_the_signature_header_as_a_server_decodes_it_is_refused_with_a_401(header: str) -> None:
    # A server hands header bytes over decoded as latin-1: b"t=\xb2" arrives as "t=²".
    with pytest.raises(Problem) as refused:
        parse_header(header, now=1_700_000_000, tolerance=300)
    assert refused.value.status == 401 and "must look like" in refused.value.detail


@pytest.mark.parametrize("expires", NOT_ASCII_DIGITS)
def test_a_media_url_whose_expiry_is_not_ascii_digits_is_a_403(client: TestClient, expires: str) -> None:
    response = client.get(f"/media/gallery/abc.png?expires={expires}&signature={'A' * 43}")
    assert response.status_code == 403 and response.json()["detail"].startswith("the link's expiry is not a time")


@pytest.mark.parametrize("given", ["é" * 43, "\u0663" * 43, "A" * 42 + "²"])
def test_a_media_url_whose_signature_is_not_ascii_is_a_403(client: TestClient, given: str) -> None:
    response = client.get(f"/media/gallery/abc.png?expires={int(time.time()) + 600}&signature={given}")
    assert response.status_code == 403 and "signature is not valid" in response.json()["detail"]


def test_a_valid_media_signature_still_checks_out() -> None:
    expires = int(time.time()) + 600
    assert check(MEDIA_KEY, "/media/gallery/a.png", str(expires), signature(MEDIA_KEY, "/media/gallery/a.png",
                                                                               expires)) is None


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("parameter", ["min_position", "cursor"])
def test_a_position_or_cursor_of_unicode_digits_is_a_422_naming_it(client: TestClient, parameter: str,
                                                                    value: str) -> None:
    response = client.get(f"/v1/gallery?{parameter}={value}", headers=ALICE)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == f"query.{parameter}"


@pytest.mark.parametrize("value", ["ключ".encode(), "k²".encode("latin-1"), b"key\xff"])
def test_an_idempotency_key_that_is_not_visible_ascii_is_a_422_naming_it(client: TestClient, value: bytes) -> None:
    response = client.post("/v1/admin/wallets/bob/grants", json={"amount": 1, "reason": "welcome"},
                           headers={**bearer("ops", "admin"), "Idempotency-Key": value})  # type: ignore[dict-item]
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "header.Idempotency-Key"


@pytest.mark.parametrize("servers", ["kafka:²", "kafka:\u0663", "kafka:9092,other:\uff11\uff12"])
def test_bootstrap_servers_with_a_port_of_unicode_digits_are_refused_at_start_up(servers: str) -> None:
    with pytest.raises(ValueError, match="bootstrap servers must be host:port"):
        MessagingSettings(kafka_bootstrap_servers=servers)


def test_a_well_formed_request_still_passes(client: TestClient) -> None:
    body, headers = signed(purchase())
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    assert client.post("/v1/admin/wallets/bob/grants", json={"amount": 1, "reason": "welcome"},
                       headers={**bearer("ops", "admin"), **key()}).status_code == 201
