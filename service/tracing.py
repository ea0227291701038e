"""Traces across the whole path (OpenTelemetry), off and free unless the standard ``OTEL_*`` variables ask.

A generation crosses HTTP, the ledger, the relay, Kafka, a worker and the result consumer; its trace
context travels with it as a W3C ``traceparent``: recorded on the ``GenerationRequested`` event (the
relay publishes it long after the request has answered), then in the Kafka headers of the request and
of its result. Nothing is installed when neither ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or its traces
variant) nor ``OTEL_TRACES_EXPORTER`` is set: every helper here then returns at its first line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from service.settings.store import StartupError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult

Exporter = Literal["otlp", "console"]
EXPORTERS: tuple[Exporter, ...] = ("otlp", "console")
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
HEADER = "traceparent"
LOG_IDS = " trace_id=%(trace_id)s span_id=%(span_id)s"
_PROPAGATOR = TraceContextTextMapPropagator()
_NOTHING: AbstractContextManager[object] = nullcontext()  # reentrant and stateless: one for every block


class _Tracing:
    """The process's tracer once tracing is on; None (the default) means every helper does nothing."""

    tracer: trace.Tracer | None = None
    provider: TracerProvider | None = None


_on = _Tracing()


def exporter_wanted(environ: Mapping[str, str]) -> Exporter | None:
    """The span exporter the standard variables ask for; None when tracing stays off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named == "none":
        return None
    if named:
        if named not in EXPORTERS:
            raise StartupError(f"OTEL_TRACES_EXPORTER={named!r} is not an exporter this service has: use "
                               f"{', '.join(EXPORTERS)} or none")
        return "otlp" if named == "otlp" else "console"
    return "otlp" if any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES) else None


def configure(process: str, *, environ: Mapping[str, str] = os.environ,
              exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for ``process`` when the ``OTEL_*`` variables (or a test's ``exporter``) ask; whether on."""
    if exporter is None:
        wanted = exporter_wanted(environ)
        if wanted is None:
            return False
        exporter = _exporter(wanted)
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    name = environ.get("OTEL_SERVICE_NAME") or f"studio-ledger-{process}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}), sampler=_in_traces())
    # A test reads its spans as soon as they end; an exporter over the network gets them in batches.
    processor = SimpleSpanProcessor if isinstance(exporter, InMemorySpanExporter) else BatchSpanProcessor
    provider.add_span_processor(processor(exporter))
    _on.provider, _on.tracer = provider, provider.get_tracer("studio-ledger")
    _log_ids()
    _instrument_psycopg(provider)
    return True


def shutdown() -> None:
    """Send the spans still buffered and turn tracing off (at the end of a process, or of a test)."""
    provider, _on.provider, _on.tracer = _on.provider, None, None
    if provider is not None:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().uninstrument()
        provider.shutdown()


def enabled() -> bool:
    """Whether spans are recorded in this process."""
    return _on.tracer is not None


def provider() -> TracerProvider | None:
    """The tracer provider, for the instrumentations of FastAPI and SQLAlchemy; None when off."""
    return _on.provider


def traceparent() -> str:
    """The W3C ``traceparent`` of the current span ("" when off or outside a span), to carry it across a hop."""
    if _on.tracer is None:
        return ""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(HEADER, "")


def kafka_headers() -> dict[str, str]:
    """The current span's context as Kafka headers (none when off)."""
    found = traceparent()
    return {HEADER: found} if found else {}


def from_headers(headers: Mapping[str, Any] | None) -> str:
    """The ``traceparent`` a Kafka message carries ("" when none): text or bytes, as a client gives it."""
    value = (headers or {}).get(HEADER, "")
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def span(name: str, *, parent: str = "", kind: SpanKind = SpanKind.INTERNAL,
         attributes: Mapping[str, str | int] | None = None) -> AbstractContextManager[object]:
    """A span named ``name`` for the block, the child of ``parent`` (a ``traceparent``) when given, else of
    the current span; when tracing is off, one shared context that does nothing (no generator, no span)."""
    if _on.tracer is None:
        return _NOTHING
    context = _PROPAGATOR.extract({HEADER: parent}) if parent else None
    return _on.tracer.start_as_current_span(name, context=context, kind=kind, attributes=dict(attributes or {}))


def _exporter(kind: Exporter) -> SpanExporter:
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    # The OTLP exporter reads its endpoint, headers, timeout and protocol from the OTEL_EXPORTER_OTLP_* variables.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _in_traces() -> Sampler:
    """Every span, except a database statement outside any trace: the followers poll the log several times a
    second, and a trace per poll would bury the ones that follow a request."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult

    class Statements(Sampler):
        def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: SpanKind | None = None,
                          attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
            if kind == SpanKind.CLIENT:  # a root span of kind client: a statement (or a call) nobody traced
                return SamplingResult(Decision.DROP)
            return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return "StatementsOnlyInTraces"

    return ParentBased(root=Statements())


def _instrument_psycopg(provider: TracerProvider) -> None:
    """A span per statement of the event store's connections (psycopg; the read tables' are SQLAlchemy's,
    instrumented per engine), for the connections made from now on: configure before building the ledger."""
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    PsycopgInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)


def _log_ids() -> None:
    """Every log record carries the trace and span it was written in (``LOG_IDS`` prints them)."""
    if getattr(logging.getLogRecordFactory(), "traced", False):
        return
    previous = logging.getLogRecordFactory()

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = previous(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        made.trace_id = format(context.trace_id, "032x") if context.is_valid else "-"
        made.span_id = format(context.span_id, "016x") if context.is_valid else "-"
        return made

    record.traced = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record)
