"""`studio-ledger results`: the workers' results applied to the ledger (capture, or release)."""

from __future__ import annotations

from faststream import FastStream

from api.messaging.batches import require_codecs
from api.messaging.broker import GENERATION_CLIENT_ID, broker_for
from api.messaging.results import add_result_consumer
from api.processes import consume_until_stopped, log_to_stderr
from service.bootstrap import build_ledger
from service.settings import Settings


def run_results(health_port: int = 0, metrics_port: int = 0) -> None:
    """Apply the workers' results to the ledger until SIGINT or SIGTERM."""
    log_to_stderr(process="results")
    require_codecs("result consumer")
    settings = Settings()
    ledger = build_ledger(settings)
    broker = broker_for(settings.media, client_id=GENERATION_CLIENT_ID)
    add_result_consumer(broker, ledger, settings.media)
    app = FastStream(broker)
    consume_until_stopped(app, ledger, health_port, bootstrap_servers=settings.media.kafka_bootstrap_servers,
                          metrics_port=metrics_port)
