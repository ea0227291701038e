"""Tracing: what the standard OTEL_* variables turn on, the ids in the log, and nothing at all when off."""

from __future__ import annotations

import logging
import re
import sqlite3
import timeit
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import Notification
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.messaging.envelope import TRACE_HEADER, records
from service import tracing
from service.settings.store import StartupError

pytestmark = pytest.mark.unit


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


@pytest.mark.parametrize(("environ", "wanted"), [
    ({}, None),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
    ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, None),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, None),
])
def test_tracing_is_on_only_when_the_standard_variables_ask(environ: dict[str, str], wanted: str | None) -> None:
    assert tracing.exporter_wanted(environ) == wanted


def test_an_exporter_the_service_does_not_have_is_refused_in_one_line_naming_the_variable() -> None:
    refused = r"^OTEL_TRACES_EXPORTER='jaeger' is not an exporter .*otlp, console or none$"
    with pytest.raises(StartupError, match=refused):
        tracing.configure("serve", environ={"OTEL_TRACES_EXPORTER": "jaeger"})
    assert not tracing.enabled()


def test_off_by_default_nothing_is_installed() -> None:
    assert not tracing.configure("serve", environ={})
    assert (tracing.enabled(), tracing.provider(), tracing.traceparent(), tracing.kafka_headers()) == (
        False, None, "", {})


def test_a_log_line_written_in_a_span_names_its_trace_and_span(spans: InMemorySpanExporter,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        with tracing.span("work"):
            logging.getLogger("studio").info("inside")
        logging.getLogger("studio").info("outside")
    inside, outside = caplog.records[-2:]
    span = spans.get_finished_spans()[0].context
    assert (inside.trace_id, inside.span_id) == (f"{span.trace_id:032x}", f"{span.span_id:016x}")  # type: ignore[attr-defined]
    assert (outside.trace_id, outside.span_id) == ("-", "-")  # type: ignore[attr-defined]
    line = logging.Formatter(tracing.LOG_IDS.strip()).format(inside)
    assert line == f"trace_id={span.trace_id:032x} span_id={span.span_id:016x}"


def test_a_child_continues_the_trace_its_parent_context_names(spans: InMemorySpanExporter) -> None:
    with tracing.span("request"):
        carried = tracing.traceparent()
    assert tracing.from_headers({TRACE_HEADER: carried.encode()}) == carried
    with tracing.span("render", parent=carried):
        pass
    request, render = spans.get_finished_spans()
    assert render.context.trace_id == request.context.trace_id
    assert render.parent is not None and render.parent.span_id == request.context.span_id


def test_the_relay_moves_the_recorded_context_from_the_payload_to_a_header() -> None:
    state = (b'{"timestamp":"2026-01-01T00:00:00+00:00","user_id":"ada","cost":3,'
             b'"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}')
    notification = Notification(id=7, originator_id=uuid.uuid4(), originator_version=1,
                                topic="ledger.generation:Generation.GenerationRequested", state=state)
    published = records(notification)
    for _, _, value, headers in published:
        assert b"traceparent" not in value
        assert dict(headers)[TRACE_HEADER] == b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    empty = state.replace(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", b"")
    untraced = records(Notification(id=8, originator_id=notification.originator_id, originator_version=1,
                                    topic=notification.topic, state=empty))
    assert all(TRACE_HEADER not in dict(headers) for *_, headers in untraced)


def test_off_a_span_and_a_context_cost_a_couple_of_microseconds_at_most() -> None:
    # Measured at about 0.65 us, 13 function calls (0.05 us each): nothing beside a render's milliseconds.
    def step() -> str:
        with tracing.span("generation render", parent="", attributes={"generation.id": "x"}):
            return tracing.traceparent()

    def call() -> str:  # the baseline, timed in the same run: a busy machine slows both alike
        return ""

    runs = 100_000
    cost = min(timeit.repeat(step, number=runs, repeat=5)) / runs
    baseline = min(timeit.repeat(call, number=runs, repeat=5)) / runs
    assert cost < 40 * baseline, f"{cost * 1e9:.0f} ns per traced step with tracing off, {baseline * 1e9:.0f} ns a call"


def test_a_request_repeated_in_another_trace_is_the_same_request_and_keeps_its_first_context() -> None:
    from datetime import UTC, datetime

    from ledger import Ledger, Money

    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    now = datetime.now(UTC)
    ledger.purchase(user_id="ada", payment_id="pay-1", pack_id="starter", amount=10, price=Money(900, "INR"), at=now)
    first, second = (ledger.request_generation(
        user_id="ada", request_key="k1", template_id="teaser-banner", template_version=1, variables={},
        input_image=None, cost=3, at=now, trace=f"00-{trace}-b7ad6b7169203331-01") for trace in ("1" * 32, "2" * 32))
    assert (second.repeated, second.value) == (True, first.value)
    generation = ledger.generation(first.value)
    assert generation is not None and generation.traceparent == f"00-{'1' * 32}-b7ad6b7169203331-01"
    ledger.close()


def test_a_request_recorded_before_the_context_was_kept_still_loads_and_publishes(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ledger import Ledger, Money
    from ledger.event_store.follow import Follower

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.db")}
    ledger, now = Ledger(env), datetime.now(UTC)
    ledger.purchase(user_id="ada", payment_id="pay-1", pack_id="starter", amount=10, price=Money(900, "INR"), at=now)
    requested = ledger.request_generation(user_id="ada", request_key="k1", template_id="teaser-banner",
                                          template_version=1, variables={}, input_image=None, cost=3, at=now).value
    ledger.close()
    with sqlite3.connect(env["SQLITE_DBNAME"]) as db:  # as an event stored before the field existed
        requests = db.execute("SELECT rowid, state FROM stored_events WHERE topic LIKE '%GenerationRequested'")
        for rowid, state in requests.fetchall():
            assert b',"traceparent":""' in state
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                       (state.replace(b',"traceparent":""', b""), rowid))
    ledger = Ledger(env)
    try:
        generation = ledger.generation(requested)
        assert generation is not None and (generation.status, generation.traceparent) == ("requested", "")
        stored = [s for s in Follower(ledger).read(limit=100) if type(s.event).__name__ == "GenerationRequested"]
        assert stored[0].event.traceparent == ""
        notification = ledger.recorder.select_notifications(start=stored[0].position, limit=1)[0]
        assert all(TRACE_HEADER not in dict(headers) for *_, headers in records(notification))
    finally:
        ledger.close()


def test_a_process_traced_by_the_variables_prints_the_ids_on_each_log_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.processes import log_to_stderr

    root = logging.getLogger()
    before = root.handlers[:]
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    try:
        log_to_stderr(process="worker")
        assert tracing.enabled()
        with tracing.span("render"):
            record = logging.getLogRecordFactory()("studio", logging.INFO, __file__, 1, "rendered", None, None)
        line = root.handlers[0].format(record)
        made_elsewhere = root.handlers[0].format(logging.LogRecord("studio", logging.INFO, __file__, 1, "relayed",
                                                                   None, None))
    finally:
        tracing.shutdown()
        root.handlers[:] = before
    assert re.search(r"studio: rendered trace_id=[0-9a-f]{32} span_id=[0-9a-f]{16}$", line), line
    assert made_elsewhere.endswith("studio: relayed trace_id=- span_id=-")


def test_a_statement_outside_any_trace_is_dropped_and_one_inside_a_trace_kept(spans: InMemorySpanExporter) -> None:
    from opentelemetry.trace import SpanKind

    with tracing.span("SELECT ledger_events", kind=SpanKind.CLIENT):  # a follower's poll
        pass
    with tracing.span("POST /v1/generations", kind=SpanKind.SERVER), tracing.span("INSERT", kind=SpanKind.CLIENT):
        pass
    assert [s.name for s in spans.get_finished_spans()] == ["INSERT", "POST /v1/generations"]
