"""`studio-ledger consume` as its own process: applies a payment from Kafka and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ledger import Ledger
from tests.support.kafka_broker import NOIDA_SESSION_TIMEOUT_MS, create_topics, produce, unique_name

pytestmark = pytest.mark.e2e


async def test_the_consume_command_applies_payments_until_terminated(pg_env: dict[str, str],
                                                                     kafka_bootstrap: str) -> None:
    payments, referrals = unique_name("payments.events"), unique_name("affiliate.referrals")
    await create_topics(kafka_bootstrap, payments, referrals, f"{payments}.dlq", f"{referrals}.dlq")
    env = {**os.environ, "STUDIO_STORE": "postgres", "STUDIO_GROUP_COMMIT": "false",
           "STUDIO_POSTGRES_HOST": pg_env["POSTGRES_HOST"], "STUDIO_POSTGRES_PORT": pg_env["POSTGRES_PORT"],
           "STUDIO_POSTGRES_USER": pg_env["POSTGRES_USER"], "STUDIO_POSTGRES_PASSWORD": pg_env["POSTGRES_PASSWORD"],
           "STUDIO_POSTGRES_DB": pg_env["POSTGRES_DBNAME"], "STUDIO_POSTGRES_SCHEMA": pg_env["POSTGRES_SCHEMA"],
           "STUDIO_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "STUDIO_PAYMENTS_TOPIC": payments,
           "STUDIO_REFERRALS_TOPIC": referrals, "STUDIO_PAYMENT_GROUP_ID": unique_name("g-pay"),
           "STUDIO_REFERRAL_GROUP_ID": unique_name("g-ref"),
           "STUDIO_CONSUMER_SESSION_TIMEOUT_MS": str(NOIDA_SESSION_TIMEOUT_MS)}
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "consume"], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ledger = Ledger(pg_env)
    try:
        await produce(kafka_bootstrap, payments, [json.dumps({
            "type": "CreditPackPurchased", "payment_id": "cli-1", "user_id": "ana", "pack_id": "creator",
            "amount_minor": 4900, "currency": "INR"}).encode()], key=b"cli-1")
        async with asyncio.timeout(60):
            while (wallet := await asyncio.to_thread(ledger.wallet, "ana")) is None:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                await asyncio.sleep(0.2)
        assert wallet.available(datetime.now(UTC)) == 550
        os.kill(process.pid, signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        ledger.close()
