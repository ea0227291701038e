"""`studio-ledger consume`: referral and payment messages from Kafka applied to the ledger."""

from __future__ import annotations

import asyncio

from api.messaging.inbound import build_inbound
from api.probes import start_probes, store_answers, watch_app
from api.processes import log_to_stderr
from service.bootstrap import build_ledger, build_policy
from service.settings import Settings


def run_consumers(health_port: int = 0) -> None:
    """Run the referral and payment consumers until SIGINT or SIGTERM."""
    log_to_stderr()
    settings = Settings()
    messaging = settings.messaging
    policy = build_policy(settings)
    ledger = build_ledger(settings)
    app = build_inbound(ledger, policy, messaging)
    probes = start_probes(health_port)
    if probes is not None:
        watch_app(probes, app)
        probes.ready["event store"] = store_answers(ledger)
    try:
        asyncio.run(app.run())
    finally:
        ledger.close()
        if probes is not None:
            probes.stop()
