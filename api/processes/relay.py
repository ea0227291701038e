"""`studio-ledger relay`: committed ledger events published to Kafka (the outbox relay; one leads)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from api.messaging.alerts import AlertPublisher
from api.messaging.relay import Relay
from api.processes import log_to_stderr
from api.processes.leading import lead_async
from service.bootstrap import build_ledger, build_read_engine
from service.leader import lock_for
from service.settings import Settings
from service.settings.parts import PlatformSettings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)


def serve_lag_metric(relay: Relay, port: int) -> None:
    """Expose the relay's lag (events behind the log's head) as a Prometheus gauge on ``port``."""
    from prometheus_client import start_http_server

    start_http_server(port, registry=lag_metric(relay))


def lag_metric(relay: Relay) -> CollectorRegistry:
    """What the relay serves for Prometheus: ``studio_relay_lag_events``, by relay."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    gauge = Gauge("studio_relay_lag_events", "Ledger events stored but not yet acknowledged by Kafka",
                  ["relay"], registry=registry)
    gauge.labels(relay.name).set_function(lambda: relay.lag)
    return registry


def run_relay(metrics_port: int = 0, health_port: int = 0) -> None:
    """Run the relay until SIGINT or SIGTERM, then finish the page in flight and stop.

    Only the process holding the relay's lock publishes (see ``service.leader``); others stand by.
    """
    log_to_stderr(process="relay")
    settings = Settings()
    ledger = build_ledger(settings)
    relay = Relay(ledger, settings.messaging, debits=PlatformSettings().platform_transport == "kafka")
    if metrics_port:
        serve_lag_metric(relay, metrics_port)
    alerts = AlertPublisher(build_read_engine(settings), settings.messaging)
    log.info("relay %s: publishing to %s once it leads", relay.name, settings.messaging.kafka_bootstrap_servers)

    def stop() -> None:
        relay.stop()
        alerts.stop()

    lead_async(f"relay {relay.name}", lock_for(f"relay:{relay.name}", settings.store),
               lambda: together(relay.run, alerts.run, stop), stop, store=ledger, close=ledger.close,
               health_port=health_port)


async def together(first: Callable[[], Coroutine[Any, Any, None]], second: Callable[[], Coroutine[Any, Any, None]],
                   stop: Callable[[], None]) -> None:
    """Run both until both return; when one ends (stopped, or failing), the other is stopped too."""
    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop()
    await asyncio.gather(*tasks)  # raises the first failure, once both ended
