"""`studio-ledger relay`: committed ledger events published to Kafka (the outbox relay; one leads)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from api.messaging.relay import Relay
from api.probes import loop_turns, start_probes, store_answers
from api.processes import log_to_stderr
from service.bootstrap import build_ledger
from service.leader import Leadership, lock_for
from service.settings import Settings

log = logging.getLogger(__name__)


def serve_lag_metric(relay: Relay, port: int) -> None:
    """Expose the relay's lag (events behind the log's head) as a Prometheus gauge on ``port``."""
    from prometheus_client import Gauge, start_http_server

    gauge = Gauge("studio_relay_lag_events", "Ledger events stored but not yet acknowledged by Kafka",
                  ["relay"])
    gauge.labels(relay.name).set_function(lambda: relay.lag)
    start_http_server(port)


def run_relay(metrics_port: int = 0, health_port: int = 0) -> None:
    """Run the relay until SIGINT or SIGTERM, then finish the page in flight and stop.

    Only the process holding the relay's lock publishes (see ``service.leader``); others stand by.
    """
    log_to_stderr()
    settings = Settings()
    messaging = settings.messaging
    ledger = build_ledger(settings)
    relay = Relay(ledger, messaging)
    probes = start_probes(health_port)
    leadership = Leadership(f"relay {relay.name}", lock_for(f"relay:{relay.name}", settings.store))
    if probes is not None:
        probes.ready["event store"] = store_answers(ledger)
        probes.info["role"] = lambda: leadership.role
    if metrics_port:
        serve_lag_metric(relay, metrics_port)
    stopping = threading.Event()

    def stop() -> None:
        stopping.set()
        relay.stop()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        if probes is not None:
            probes.live["event loop"] = loop_turns(loop)
        log.info("relay %s: publishing to %s once it leads", relay.name, messaging.kafka_bootstrap_servers)
        await publish_while_leading(relay, leadership, stopping)

    try:
        asyncio.run(main())
    finally:
        leadership.release()
        ledger.close()
        if probes is not None:
            probes.stop()
    if leadership.lost.is_set():
        raise SystemExit(f"relay {relay.name}: lost its lock to another process; exiting to stand by")


async def publish_while_leading(relay: Relay, leadership: Leadership, stopping: threading.Event) -> None:
    """Wait until this process holds the relay's lock, then publish until stopped or the lock is lost."""
    if not await asyncio.to_thread(leadership.wait, stopping):
        return
    loop = asyncio.get_running_loop()
    leadership.watch(lambda: loop.call_soon_threadsafe(relay.stop))
    await relay.run()
