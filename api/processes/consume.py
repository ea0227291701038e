"""`studio-ledger consume`: referral and payment messages from Kafka applied to the ledger."""

from __future__ import annotations

from api.messaging.batches import require_codecs
from api.messaging.inbound import build_inbound
from api.processes import consume_until_stopped, log_to_stderr
from service.bootstrap import build_ledger, build_policy
from service.settings import Settings


def run_consumers(health_port: int = 0, metrics_port: int = 0) -> None:
    """Run the referral and payment consumers until SIGINT or SIGTERM."""
    log_to_stderr(process="consume")
    require_codecs("consumers")
    settings = Settings()
    messaging = settings.messaging
    policy = build_policy(settings)
    ledger = build_ledger(settings)
    app = build_inbound(ledger, policy, messaging)
    consume_until_stopped(app, ledger, health_port, bootstrap_servers=messaging.kafka_bootstrap_servers,
                          metrics_port=metrics_port)
