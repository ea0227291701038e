"""The committed OpenAPI document is the one the code generates, with operation ids clients can name methods by."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import pytest

from api.http.contract import COMMITTED, document, dumps

pytestmark = pytest.mark.unit
SCHEMA_TS = Path(__file__).parents[2] / "clients" / "typescript" / "src" / "schema.d.ts"
HASH_LINE = re.compile(r"^// openapi\.json sha256: ([0-9a-f]{64})$", re.MULTILINE)


@pytest.fixture(scope="module")
def spec() -> dict[str, object]:
    """The document the routes generate (no Duplicate Operation ID warning allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return document()


def test_the_committed_openapi_document_is_current(spec: dict[str, object]) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == dumps(spec), (
        "docs/openapi.json is stale: run `make openapi`")


def test_every_operation_has_a_unique_snake_case_id_and_one_tag(spec: dict[str, object]) -> None:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    operations = [op for item in paths.values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+|[a-z]+", i) for i in ids), ids
    assert all(len(op["tags"]) == 1 for op in operations)
    assert {"list_templates", "create_generation", "get_generation", "get_gallery", "get_wallet",
            "create_dev_token", "create_demo_purchase", "get_config", "get_template_preview"} <= set(ids)


def test_the_typescript_schema_was_generated_from_the_committed_document() -> None:
    found = HASH_LINE.search(SCHEMA_TS.read_text(encoding="utf-8")[:1000])
    assert found is not None, f"{SCHEMA_TS} has no '// openapi.json sha256:' line: run `make openapi`"
    assert found.group(1) == hashlib.sha256(COMMITTED.read_bytes()).hexdigest(), (
        "clients/typescript/src/schema.d.ts is older than docs/openapi.json: run `make openapi`")


def test_a_generation_status_is_one_of_four_words_a_client_can_switch_on(spec: dict[str, object]) -> None:
    schemas = spec["components"]["schemas"]  # type: ignore[index]
    assert schemas["GenerationPublic"]["properties"]["status"]["enum"] == [
        "requested", "started", "completed", "failed"]
