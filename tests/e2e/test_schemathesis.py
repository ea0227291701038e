"""Generated requests against the published OpenAPI document: whatever comes in, never a 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.http.app import create_app
from tests.support.http import bearer, client_for, purchase, service_for, signed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
USER = bearer("alice", "admin")  # an admin who is also a funded user reaches every route's logic


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The OpenAPI document of a running service on SQLite where alice has credits."""
    service = service_for("sqlite", tmp_path_factory.mktemp("schemathesis"), with_pipeline=False, read_wait_ms=2000)
    with client_for(service) as client:
        for _ in range(3):
            body, headers = signed(purchase("studio"))
            assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        yield schemathesis.openapi.from_asgi("/openapi.json", create_app(service, manage=False))


def test_no_generated_request_makes_the_api_fail_on_its_side(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 16
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def call(case: Any) -> None:
            headers = dict(USER)
            if case.method.upper() == "POST" and not (case.headers or {}).get("Idempotency-Key"):
                headers["Idempotency-Key"] = uuid.uuid4().hex
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        call()
