"""The inbound consumers on a real broker and PostgreSQL: each message type, duplicates, dead letters,
an unreachable database, and a consumer that crashes between applying a message and committing it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from api.messaging.inbound import build_inbound
from ledger import Ledger
from service import payments as handlers
from service.policy import load_policy
from service.settings.messaging import MessagingSettings
from tests.conftest import PG
from tests.support.inbound_kafka import NOW, available, eventually, messaging_settings, purchase, referral
from tests.support.kafka_broker import (
    NOIDA_SESSION_TIMEOUT_MS,
    committed_offset,
    create_topics,
    produce,
    read_topic,
    unique_name,
)

pytestmark = pytest.mark.integration
def message(**fields: Any) -> bytes:
    """Any JSON message."""
    return json.dumps(fields).encode()


class Consumers:
    """A running consumers app: its ledger, settings and broker."""

    def __init__(self, ledger: Ledger, settings: MessagingSettings, broker: KafkaBroker) -> None:
        self.ledger, self.settings, self.broker = ledger, settings, broker


async def start_consumers(ledger: Ledger, settings: MessagingSettings, **options: Any) -> Consumers:
    """Build and start the consumers; topics are created first so that the groups find them."""
    await create_topics(settings.kafka_bootstrap_servers, settings.payments_topic, settings.referrals_topic)
    app = build_inbound(ledger, load_policy(), settings, **options)
    broker: KafkaBroker = app.broker  # type: ignore[assignment]
    await broker.start()
    return Consumers(ledger, settings, broker)


@pytest.fixture
async def consumers(pg_env: dict[str, str], kafka_bootstrap: str) -> AsyncIterator[Consumers]:
    """The consumers on PostgreSQL and the real broker, running for the test."""
    ledger = Ledger(pg_env)
    running = await start_consumers(ledger, messaging_settings(kafka_bootstrap), retry_delays=(0.1, 0.2, 0.5))
    yield running
    await running.broker.stop()
    ledger.close()


async def test_every_payment_and_referral_message_type_is_applied(consumers: Consumers) -> None:
    servers, s = consumers.settings.kafka_bootstrap_servers, consumers.settings
    await produce(servers, s.payments_topic, [
        purchase("pay-1"),
        purchase("pay-2", user="cy"),
        message(type="WalletBalanceRedeemed", redemption_id="red-1", user_id="ana", amount_minor=1000, currency="INR"),
        message(type="PaymentRefunded", payment_id="pay-2"),
    ])
    await produce(servers, s.referrals_topic, [referral("ref-1"), referral("ref-2", referrer="dee", referee="eve"),
                                               message(type="ReferralReversed", referral_id="ref-2")])

    await eventually(lambda: [available(consumers.ledger, u) for u in ("ana", "bo", "cy", "dee", "eve")],
                     [100 + 100 + 50, 20, 0, 0, 0])


async def test_a_message_delivered_many_times_has_one_effect(consumers: Consumers) -> None:
    servers, s = consumers.settings.kafka_bootstrap_servers, consumers.settings
    await produce(servers, s.payments_topic, [purchase("pay-1")] * 3)
    await produce(servers, s.referrals_topic, [referral("ref-1")] * 3)
    await produce(servers, s.payments_topic, [purchase("pay-marker", user="zed")])

    await eventually(lambda: available(consumers.ledger, "zed"), 100)
    wallet = await asyncio.to_thread(consumers.ledger.wallet, "ana")
    assert wallet is not None
    assert wallet.available(NOW) == 150
    assert wallet.version == 3  # opened, purchased once, referral bonus once


async def test_bad_messages_go_to_the_dead_letter_topic_with_their_reason_while_good_ones_apply(
    consumers: Consumers,
) -> None:
    servers, s = consumers.settings.kafka_bootstrap_servers, consumers.settings
    await produce(servers, s.payments_topic, [
        purchase("pay-1"),
        b"{this is not json",
        message(type="CreditPackPurchased", payment_id="pay-x"),
        purchase("pay-2", pack_id="mega"),
        purchase("pay-3", amount_minor=1),
        purchase("pay-1", pack_id="creator", amount_minor=4900),
        message(type="PaymentRefunded", payment_id="never-paid"),
        purchase("pay-4"),
    ])
    await produce(servers, s.referrals_topic, [message(type="ReferralReversed", referral_id="nobody"), referral("r1")])

    dead = await read_topic(servers, f"{s.payments_topic}.dlq", 6, quiet=0.5)
    [dead_referral] = await read_topic(servers, f"{s.referrals_topic}.dlq", 1, quiet=0.5)

    reasons = [(dict(r.headers)["x-error"].decode(), int(dict(r.headers)["x-original-offset"])) for r in dead]
    assert reasons == [("invalid-json", 1), ("schema-violation", 2), ("unknown-pack", 3), ("price-mismatch", 4),
                       ("conflicting-command", 5), ("unknown-reference", 6)]
    assert all(dict(r.headers)["x-original-topic"].decode() == s.payments_topic for r in dead)
    assert all(dict(r.headers)["x-original-partition"] == b"0" for r in dead)
    assert dead[0].value == b"{this is not json"
    assert b"mega" in dict(dead[2].headers)["x-error-message"]
    assert dict(dead_referral.headers)["x-error"] == b"unknown-reference"
    await eventually(lambda: (available(consumers.ledger, "ana"), available(consumers.ledger, "bo")), (250, 20))


async def test_while_the_database_is_unreachable_messages_wait_and_none_is_lost(
    consumers: Consumers, pg_env: dict[str, str],
) -> None:
    servers, s = consumers.settings.kafka_bootstrap_servers, consumers.settings
    await produce(servers, s.payments_topic, [purchase("pay-0", user="first")])
    await eventually(lambda: available(consumers.ledger, "first"), 100)

    database = pg_env["POSTGRES_DBNAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        try:
            await produce(servers, s.payments_topic, [purchase("pay-1"), purchase("pay-2", user="bo")])
            await asyncio.sleep(3)  # several failed deliveries, each retried after a backoff
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

    await eventually(lambda: (available(consumers.ledger, "ana"), available(consumers.ledger, "bo")), (100, 100),
                     within=40)
    assert await read_topic(servers, f"{s.payments_topic}.dlq", 0, quiet=0.5) == []


CRASHING_CONSUMER = textwrap.dedent("""
    import asyncio, os, signal, sys
    from service import payments as handlers
    from api.messaging.inbound import build_inbound
    from service.settings.messaging import MessagingSettings
    from service.policy import load_policy
    from ledger import Ledger

    def apply_then_crash(ledger, policy, body, *, at):
        handlers.apply_payment(ledger, policy, body, at=at)
        print("applied", body.payment_id, flush=True)
        if body.payment_id == "pay-2":
            os.kill(os.getpid(), signal.SIGKILL)  # dies before the offset is committed

    async def main():
        env = dict(arg.split("=", 1) for arg in sys.argv[1:])
        await build_inbound(Ledger(env), load_policy(), MessagingSettings(), apply_payment=apply_then_crash).run()

    asyncio.run(main())
""")


async def seed_group(servers: str, group: str, topic: str, offset: int) -> None:
    """Make ``group`` start reading partition 0 of ``topic`` at ``offset``, as if it had committed it."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, group_id=group, enable_auto_commit=False,
                                session_timeout_ms=NOIDA_SESSION_TIMEOUT_MS)
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            while not consumer.assignment():
                await asyncio.sleep(0.05)
        await consumer.commit({TopicPartition(topic, 0): offset})
    finally:
        await consumer.stop()


async def test_a_consumer_that_crashes_after_applying_but_before_committing_has_one_effect(
    pg_env: dict[str, str], kafka_bootstrap: str,
) -> None:
    settings = messaging_settings(kafka_bootstrap)
    topic = settings.payments_topic
    await create_topics(kafka_bootstrap, topic, settings.referrals_topic)
    await produce(kafka_bootstrap, topic, [purchase("pay-1"), purchase("pay-2", user="bo"),
                                           purchase("pay-3", user="cy")])
    env = {**os.environ, **{f"STUDIO_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None}}
    crashing = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_CONSUMER, *(f"{k}={v}" for k, v in pg_env.items()),
        env=env, stdout=subprocess.PIPE, start_new_session=True)
    try:
        output, _ = await asyncio.wait_for(crashing.communicate(), 60)
    finally:
        if crashing.returncode is None:
            os.kill(crashing.pid, signal.SIGKILL)
    assert crashing.returncode == -signal.SIGKILL
    assert [line for line in output.splitlines() if line.startswith(b"applied")] == [b"applied pay-1",
                                                                                     b"applied pay-2"]
    committed = await committed_offset(kafka_bootstrap, settings.payment_group_id, topic)
    assert committed == 1  # pay-1 was committed, pay-2 was applied but not committed

    # The restarted consumer resumes from the group's committed offset. (The local broker never
    # expels a crashed group leader, so the restart joins a group seeded with the same offset.)
    restarted = settings.model_copy(update={"payment_group_id": unique_name("g-payments-restarted"),
                                            "referral_group_id": unique_name("g-referrals-restarted")})
    await seed_group(kafka_bootstrap, restarted.payment_group_id, topic, committed)
    ledger = Ledger(pg_env)
    delivered: list[str] = []

    def record_then_apply(ledger: Ledger, policy: Any, body: Any, *, at: datetime) -> Any:
        delivered.append(body.payment_id)
        return handlers.apply_payment(ledger, policy, body, at=at)

    running = await start_consumers(ledger, restarted, apply_payment=record_then_apply)
    try:
        await eventually(lambda: list(delivered), ["pay-2", "pay-3"])
        wallets = [await asyncio.to_thread(ledger.wallet, user) for user in ("ana", "bo", "cy")]
    finally:
        await running.broker.stop()
        ledger.close()
    assert [(w.available(NOW), w.version) for w in wallets if w is not None] == [(100, 2)] * 3
