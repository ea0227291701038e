"""Composition root of the Kafka processes: `studio-ledger relay` and `studio-ledger consume`."""

from __future__ import annotations

import asyncio
import logging
import signal

from api.bootstrap import build_ledger
from api.messaging.inbound import build_inbound
from api.messaging.relay import Relay
from api.messaging.settings import MessagingSettings
from api.policy import load_policy

log = logging.getLogger(__name__)


def serve_lag_metric(relay: Relay, port: int) -> None:
    """Expose the relay's lag (events behind the log's head) as a Prometheus gauge on ``port``."""
    from prometheus_client import Gauge, start_http_server

    gauge = Gauge("studio_relay_lag_events", "Ledger events stored but not yet acknowledged by Kafka",
                  ["relay"])
    gauge.labels(relay.name).set_function(lambda: relay.lag)
    start_http_server(port)


def run_relay(metrics_port: int = 0) -> None:
    """Run the relay until SIGINT or SIGTERM, then finish the page in flight and stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = MessagingSettings()
    ledger = build_ledger()
    relay = Relay(ledger, settings)
    if metrics_port:
        serve_lag_metric(relay, metrics_port)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, relay.stop)
        log.info("relay %s publishing to %s", relay.name, settings.kafka_bootstrap_servers)
        await relay.run()

    try:
        asyncio.run(main())
    finally:
        ledger.close()


def run_consumers() -> None:
    """Run the referral and payment consumers until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = MessagingSettings()
    policy = load_policy(settings.policy_file)
    ledger = build_ledger()
    try:
        asyncio.run(build_inbound(ledger, policy, settings).run())
    finally:
        ledger.close()
