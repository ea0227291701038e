"""The API's documentation works offline, and every example it shows is one the API accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, SecretStr

from api.http import schemas
from service.settings.api import EMBEDDED_JWT_SECRET, EMBEDDED_WEBHOOK_SECRET
from tests.support.http import WEBHOOK_SECRET, bearer, client_for, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
ADMIN = bearer("alice", "admin")  # alice is the admin here, so the examples for "the user" and admin routes line up


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_every_script_and_style_from_the_service(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    urls += re.findall(r"""(?:url|openapi_url|spec-url)\s*[:=]\s*['"]([^'"]+)['"]""", html.text)
    assert any(u.endswith(".js") for u in urls), html.text
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from another host"
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert "cdn" not in html.text and "googleapis" not in html.text


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def request_examples(document: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """Every documented request example: method, path, body and the success status documented for it."""
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            examples = [content["example"]] if "example" in content else []
            examples += _resolve(document, content.get("schema", {})).get("examples", [])
            success = next(s for s in operation["responses"] if s.startswith("2"))
            found += [(method, path, example, success) for example in examples]
    return found


def test_every_documented_request_example_gets_the_documented_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    examples = request_examples(document)
    assert {(m, p) for m, p, _, _ in examples} >= {
        ("post", "/v1/generations"), ("post", "/v1/admin/wallets/{user_id}/grants"),
        ("post", "/v1/admin/wallets/{user_id}/adjustments"), ("post", "/v1/webhooks/payments")}
    bought = client.post("/v1/webhooks/payments", **_signed_request(purchase("creator", "alice")))
    assert bought.status_code == 200, bought.text
    for method, path, example, success in examples:
        url = path.replace("{user_id}", "alice")
        if path.startswith("/v1/dev/"):  # off with secrets of the operator's own: the test below
            continue
        if path == "/v1/webhooks/payments":
            response = client.request(method, url, **_signed_request(example))
        else:
            response = client.request(method, url, json=example, headers={**ADMIN, **key()})
        assert str(response.status_code) == success, f"{method.upper()} {path} with {example}: {response.text}"


def test_the_demo_routes_documented_examples_get_their_answer_on_the_untouched_embedded_default(
    tmp_path: Path,
) -> None:
    untouched = service_for("sqlite", tmp_path, with_pipeline=False, jwt_secret=SecretStr(EMBEDDED_JWT_SECRET),
                            webhook_secret=SecretStr(EMBEDDED_WEBHOOK_SECRET))
    with client_for(untouched) as client:
        examples = [e for e in request_examples(client.get("/openapi.json").json()) if e[1].startswith("/v1/dev/")]
        assert {path for _, path, _, _ in examples} == {"/v1/dev/token", "/v1/dev/purchase"}
        alice = bearer("alice", secret=EMBEDDED_JWT_SECRET)
        for method, path, example, success in examples:
            response = client.request(method, path, json=example, headers={**alice, **key()})
            assert str(response.status_code) == success, f"{method.upper()} {path} with {example}: {response.text}"


def _signed_request(message: dict[str, Any]) -> dict[str, Any]:
    body, headers = signed(message, secret=WEBHOOK_SECRET)
    return {"content": body, "headers": headers}


def test_every_documented_response_example_is_valid_for_its_schema(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    checked = []
    for name, schema in document["components"]["schemas"].items():
        model = getattr(schemas, name, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for example in schema.get("examples", []):
            model.model_validate(example)
            checked.append(name)
    assert {"TemplatePublic", "GenerationCreate", "PackPublic", "WalletPublic"} <= set(checked)
    packs = {p["id"]: p for p in client.get("/v1/packs").json()}
    (pack,) = document["components"]["schemas"]["PackPublic"]["examples"]
    assert packs[pack["id"]] == pack
    (template,) = document["components"]["schemas"]["TemplatePublic"]["examples"]
    served = client.get(f"/v1/templates/{template['id']}").json()
    assert {k: v for k, v in served.items() if k != "variables"} == {k: v for k, v in template.items()
                                                                     if k != "variables"}
    documented = [schemas.VariablePublic.model_validate(v).model_dump() for v in template["variables"]]
    assert all(v in served["variables"] for v in documented), (documented, served["variables"])
