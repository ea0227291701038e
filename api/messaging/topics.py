"""The project's Kafka topics: their names, created by `studio-ledger kafka init`, checked by every process at start.

Production clusters turn the broker's auto-creation off, so nothing here relies on it: the topics
(dead-letter topics included) are created once, with partitions, replication factor and retention
from settings, and each process refuses to start, naming the topic, when one it reads or writes
is missing. Listing asks the broker for the metadata of *all* topics: a request that names a
topic would make a broker with auto-creation on create it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from service.settings.messaging import MessagingSettings

EVENTS_TOPIC = "ledger.events"
GENERATION_REQUESTED_TOPIC = "generation.requested"
Process = Literal["relay", "consume", "results", "worker"]
PROCESSES: tuple[Process, ...] = ("relay", "consume", "results", "worker")
TOPIC_ALREADY_EXISTS = 36


class TopicsError(RuntimeError):
    """The broker is unreachable, refused a topic, or lacks one a process needs; one line that says which."""


def dead_letter_topic(topic: str) -> str:
    """Where the messages of ``topic`` that can never be processed go."""
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    """A topic as `kafka init` creates it."""

    name: str
    partitions: int
    replication_factor: int
    retention_ms: int

    def new_topic(self) -> NewTopic:
        """The admin client's request for this topic."""
        return NewTopic(self.name, num_partitions=self.partitions, replication_factor=self.replication_factor,
                        topic_configs={"retention.ms": str(self.retention_ms)})


def process_topics(settings: MessagingSettings, process: Process) -> tuple[str, ...]:
    """Every topic ``process`` reads or writes, its dead-letter topics included."""
    s = settings
    if process == "relay":
        return s.events_topic, s.generation_requested_topic, s.payments_requests_topic, s.alerts_topic
    if process == "consume":
        inbound = (s.referrals_topic, s.payments_topic)
    elif process == "results":
        inbound = (s.generation_completed_topic, s.generation_failed_topic)
    else:
        return (s.generation_requested_topic, dead_letter_topic(s.generation_requested_topic),
                s.generation_completed_topic, s.generation_failed_topic)
    return (*inbound, *(dead_letter_topic(t) for t in inbound))


def project_topics(settings: MessagingSettings) -> list[TopicSpec]:
    """Every topic the project reads or writes, with its settings; dead-letter topics keep theirs longer."""
    names = dict.fromkeys(t for process in PROCESSES for t in process_topics(settings, process))
    dead = {dead_letter_topic(t) for t in names}
    return [TopicSpec(name, settings.kafka_partitions, settings.kafka_replication_factor,
                      settings.kafka_dlq_retention_ms if name in dead else settings.kafka_retention_ms)
            for name in names]


@asynccontextmanager
async def _admin(servers: str, within: float) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client, trying for ``within`` seconds to reach the broker; the client's own connection
    warnings are held back meanwhile, since the one line that matters is the error raised here."""
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    deadline = asyncio.get_running_loop().time() + within
    try:
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=max(1000, int(within * 1000)))
            try:
                await admin.start()
                break
            except KafkaError:
                await admin.close()
                if asyncio.get_running_loop().time() >= deadline:
                    raise TopicsError(f"cannot reach the Kafka broker at {servers} within {within:g}s") from None
                await asyncio.sleep(1.0)
        try:
            yield admin
        finally:
            await admin.close()
    finally:
        quiet.setLevel(level)


async def existing_topics(servers: str, *, within: float = 30.0) -> dict[str, int]:
    """The broker's topics and their partition counts (waits up to ``within`` seconds for the broker)."""
    async with _admin(servers, within) as admin:
        try:
            described: list[dict[str, Any]] = await admin.describe_topics(None)
        except KafkaError as error:
            raise TopicsError(f"cannot list the topics of the Kafka broker at {servers}: {error}") from None
    return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


async def require_topics(servers: str, topics: Iterable[str], *, within: float = 30.0) -> None:
    """Raise ``TopicsError`` naming the first of ``topics`` the broker does not have."""
    found = await existing_topics(servers, within=within)
    missing = [t for t in topics if t not in found]
    if missing:
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise TopicsError(f"Kafka topic {missing[0]!r}{others} does not exist at {servers}; "
                          "create the topics with `studio-ledger kafka init`")


@dataclass(frozen=True)
class InitReport:
    """What `kafka init` did with each topic."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    notes: tuple[str, ...]


async def init_topics(servers: str, specs: Sequence[TopicSpec], *, within: float = 30.0) -> InitReport:
    """Create the topics of ``specs`` that do not exist yet; leave the others as they are (idempotent)."""
    found = await existing_topics(servers, within=within)
    wanted = [s for s in specs if s.name not in found]
    notes = tuple(f"{s.name} has {found[s.name]} partitions where the settings say {s.partitions}: left as it is"
                  for s in specs if s.name in found and found[s.name] != s.partitions)
    created: list[str] = []
    raced: list[str] = []
    if wanted:
        async with _admin(servers, within) as admin:
            try:
                response = await admin.create_topics([s.new_topic() for s in wanted],
                                                     timeout_ms=max(1000, int(within * 1000)))
            except KafkaError as error:
                raise TopicsError(f"the Kafka broker at {servers} refused to create topics: {error}") from None
        for name, code, *message in response.topic_errors:
            if code == TOPIC_ALREADY_EXISTS:  # another `kafka init` was quicker
                raced.append(name)
            elif code:
                detail = message[0] if message and message[0] else f"error code {code}"
                raise TopicsError(f"the Kafka broker at {servers} refused to create topic {name!r}: {detail}")
            else:
                created.append(name)
    existing = tuple(s.name for s in specs if s.name in found) + tuple(raced)
    return InitReport(created=tuple(created), existing=existing, notes=notes)
