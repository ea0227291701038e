"""One generation, one trace: from ``POST /v1/generations`` through the ledger, the render and the capture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from service import tracing
from tests.support.http import bearer, client_for, key, purchase, service_for, signed
from tests.support.pipeline import VARIABLES, Pipeline, finished

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
ALICE = bearer("alice")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, its spans kept in memory."""
    exporter = InMemorySpanExporter()
    assert tracing.configure("test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def named(found: list[ReadableSpan], name: str) -> ReadableSpan:
    """The one span called ``name``."""
    matches = [s for s in found if s.name == name]
    assert len(matches) == 1, f"{name}: {[s.name for s in found]}"
    return matches[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def wait_for(exporter: InMemorySpanExporter, name: str, within: float = 30.0) -> list[ReadableSpan]:
    """Every span ended so far, once one called ``name`` is among them."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = list(exporter.get_finished_spans())
        if any(s.name == name for s in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"no span {name} within {within}s: {[s.name for s in exporter.get_finished_spans()]}")


def test_an_in_process_generation_is_one_trace_from_the_request_to_its_capture(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    with client_for(service_for("sqlite", tmp_path)) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        accepted = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()})
        assert accepted.status_code == 202, accepted.text
        found = wait_for(spans, "ledger complete_generation")
    request = named(found, "POST /v1/generations")
    recorded = named(found, "ledger request_generation")
    render = named(found, "generation render")
    apply = named(found, "generation result apply")
    capture = named(found, "ledger complete_generation")
    path = [request, recorded, render, apply, capture]
    assert {s.context.trace_id for s in path} == {request.context.trace_id}
    assert parent_of(recorded) == request.context.span_id
    assert parent_of(render) == request.context.span_id  # recorded with the request, rendered long after
    assert parent_of(apply) == render.context.span_id
    assert parent_of(capture) == apply.context.span_id
    assert render.attributes is not None and render.attributes["generation.id"] == accepted.json()["generation_id"]
    in_request = [s for s in found if s.context.trace_id == request.context.trace_id]
    assert any((s.attributes or {}).get("db.system") == "sqlite" for s in in_request)  # the read tables' statements


def test_with_tracing_off_nothing_is_recorded_and_the_event_carries_no_context(tmp_path: Path) -> None:
    assert not tracing.enabled()
    assert tracing.traceparent() == ""
    service = service_for("sqlite", tmp_path, with_pipeline=False)
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        accepted = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()})
        assert accepted.status_code == 202, accepted.text
        generation = service.ledger.generation(UUID(accepted.json()["generation_id"]))
    assert generation is not None and generation.traceparent == ""


async def test_a_generation_through_kafka_is_one_trace_across_the_relay_the_worker_and_the_results(
        spans: InMemorySpanExporter, pipeline: Pipeline) -> None:
    await pipeline.start_worker()
    await asyncio.to_thread(pipeline.fund, "ada")
    with tracing.span("POST /v1/generations"):  # the HTTP part is the in-process test's
        trace = tracing.traceparent()
    outcome = await asyncio.to_thread(lambda: pipeline.ledger.request_generation(
        user_id="ada", request_key="k1", template_id="teaser-banner", template_version=1, variables=VARIABLES,
        input_image=None, cost=3, at=datetime.now(UTC), trace=trace))
    await finished(pipeline.ledger, UUID(str(outcome.value)))
    found = await asyncio.to_thread(wait_for, spans, "ledger complete_generation")
    settings = pipeline.settings
    request = named(found, "POST /v1/generations")
    publish = named(found, f"{settings.generation_requested_topic} publish")
    render = named(found, f"{settings.generation_requested_topic} process")
    result = named(found, f"{settings.generation_completed_topic} process")
    capture = named(found, "ledger complete_generation")
    path = [request, publish, render, result, capture]
    assert {s.context.trace_id for s in path} == {request.context.trace_id}
    assert parent_of(publish) == request.context.span_id  # published long after the request, in its trace
    assert parent_of(render) == publish.context.span_id
    assert parent_of(result) == render.context.span_id
    assert parent_of(capture) == result.context.span_id
    assert [s.kind for s in (publish, render, result)] == [SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.CONSUMER]
    statements = [s for s in found if parent_of(s) == capture.context.span_id]
    assert statements and {(s.attributes or {}).get("db.system") for s in statements} == {"postgresql"}
