"""One module per long-running process (serve, projector, relay, consume, results, worker, sweep):
settings, then ``service.bootstrap``, then run until SIGINT or SIGTERM. The relay, the projector and the
sweeper, of which one process leads at a time, run through ``api.processes.leading``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faststream import FastStream
    from prometheus_client import CollectorRegistry

    from api.messaging.batches import UnreadableBatches
    from api.probes import Probes
    from ledger import Ledger

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr(fmt: str = LOG_FORMAT, *, process: str | None = None) -> None:
    """The processes log at INFO to stderr, one line per record; ``process`` traced when the ``OTEL_*``
    variables ask (``service.tracing``), and then each line names its trace and span."""
    from service import tracing

    if process is not None and tracing.configure(process):
        log_traced_to_stderr(fmt)
    else:
        logging.basicConfig(level=logging.INFO, format=fmt)


def log_traced_to_stderr(fmt: str = LOG_FORMAT) -> None:
    """With tracing on: each line to stderr ends with the ids of the trace and span it was written in."""
    from service import tracing

    handler = logging.StreamHandler()
    # A record built by calling LogRecord itself, not the record factory, has no ids: "-", as outside a span.
    handler.setFormatter(logging.Formatter(fmt + tracing.LOG_IDS, defaults={"trace_id": "-", "span_id": "-"}))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def watch_batches(app: FastStream, bootstrap_servers: str, probes: Probes | None,
                  metrics_port: int = 0) -> UnreadableBatches:
    """Name every record batch the consumers of ``app`` cannot decode: in readiness (``probes``), in the
    ``studio_kafka_unreadable_batches_total`` counter (served on ``metrics_port``, 0: off, beside
    ``studio_kafka_dead_letters_total``) and in the log."""
    from faststream.kafka import KafkaBroker
    from prometheus_client import start_http_server

    if not isinstance(app.broker, KafkaBroker):
        raise TypeError(f"a Kafka consumer app has a Kafka broker, not {app.broker!r}")
    registry, batches = consumer_metrics(bootstrap_servers)
    batches.watch(app.broker)
    if probes is not None:
        probes.ready["record batches"] = batches.check
    if metrics_port:
        start_http_server(metrics_port, registry=registry)  # for the process's lifetime, as the relay's gauge
    return batches


def consumer_metrics(bootstrap_servers: str) -> tuple[CollectorRegistry, UnreadableBatches]:
    """What a Kafka consumer process serves for Prometheus: its unreadable batches and its dead letters."""
    from prometheus_client import CollectorRegistry

    from api.messaging.batches import UnreadableBatches
    from api.messaging.dead_letters import DEAD_LETTERED

    registry = CollectorRegistry()
    registry.register(DEAD_LETTERED)
    return registry, UnreadableBatches(bootstrap_servers, registry=registry)


def consume_until_stopped(app: FastStream, ledger: Ledger, health_port: int = 0, *, bootstrap_servers: str,
                          metrics_port: int = 0) -> None:
    """Run a Kafka consumer app that writes to ``ledger`` until SIGINT or SIGTERM, answering probes on
    ``health_port`` (the app's state, the event store's and any batch it cannot read), then close the ledger."""
    from api.probes import start_probes, store_answers, watch_app

    probes = start_probes(health_port)
    if probes is not None:
        watch_app(probes, app)
        probes.ready["event store"] = store_answers(ledger)
    watch_batches(app, bootstrap_servers, probes, metrics_port)
    try:
        asyncio.run(app.run())
    finally:
        ledger.close()
        if probes is not None:
            probes.stop()
