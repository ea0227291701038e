"""The failure policy of every Kafka consumer: bad messages to `<topic>.dlq`, transient failures redelivered.

A message that can never be processed (invalid JSON, a schema violation, a rejection by the credit
policy or the ledger, a request the worker cannot render) is published to its topic's dead-letter
topic with headers naming the error and where it came from, then acknowledged so the consumer goes
on. A failure of something the consumer depends on (the database or the broker is unreachable,
``transient``) is not acknowledged: the message is delivered again after a backoff; so is a message
whose dead letter the broker refused. Any other error is dead-lettered too (``unprocessable``): a
message that fails in a way nobody foresaw would fail the same way on every delivery, and retried
for ever it would block its partition for everyone behind it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, NoReturn

from aiokafka.errors import KafkaError
from fast_depends.exceptions import ValidationError as ArgumentsInvalid
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException, NackMessage
from faststream.kafka import KafkaRouter
from prometheus_client import Counter
from pydantic import ValidationError

from api.messaging.topics import dead_letter_topic
from ledger import LedgerError
from service import failures
from service.errors import RejectedMessage

log = logging.getLogger(__name__)
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
DeadLetterSink = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]
Classify = Callable[[Exception], str | None]
Where = tuple[str, int, int]
UNPROCESSABLE = "unprocessable"  # x-error of a message that failed in a way no consumer names
# Registered by each consumer process in the registry it serves (``api.processes.watch_batches``); a
# counter of the module, as the dead-letter policy is made per router, before any process's registry.
DEAD_LETTERED = Counter("studio_kafka_dead_letters", "Messages dead-lettered, by the topic they came from and "
                        "the error (x-error)", ["topic", "error"], registry=None)


class InvalidJson(ValueError):
    """A message body that is not JSON."""

    code = "invalid-json"


def strict_json(body: bytes) -> Any:
    """The JSON value of a message body, whatever its content type says; ``InvalidJson`` if it is not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidJson(f"message body is not JSON: {error}") from None


def transient(error: BaseException) -> bool:
    """Whether ``error`` is a failure of a database, the broker or the network, which a later delivery
    of the same message may not meet."""
    return isinstance(error, KafkaError) or failures.transient(error)


def error_code(error: BaseException) -> str | None:
    """The inbound consumers' dead-letter reason for an error no retry can cure, or None for a transient one:
    the error's own code, else ``unprocessable`` for any error not known to be transient."""
    if isinstance(error, ArgumentsInvalid | ValidationError):
        return "schema-violation"
    if isinstance(error, InvalidJson | RejectedMessage | LedgerError):
        return str(error.code)
    return None if transient(error) else UNPROCESSABLE


class DeadLetters:
    """Middleware factory: dead-letters through ``sink`` what ``classify`` names, redelivers the rest."""

    def __init__(self, sink: DeadLetterSink, *, classify: Classify = error_code,
                 delays: Sequence[float] = RETRY_DELAYS) -> None:
        self.sink = sink
        self.classify = classify
        self.delays = tuple(delays)
        self.failures: dict[Where, int] = {}

    def __call__(self, msg: Any, /, *, context: Any) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, policy=self)

    def backoff(self, where: Where) -> float:
        """The pause before redelivering the message at ``where`` (grows with each failure)."""
        count = self.failures.get(where, 0)
        self.failures[where] = count + 1
        return self.delays[min(count, len(self.delays) - 1)]

    async def redeliver(self, where: Where, error: Exception) -> NoReturn:
        """Pause, then leave the message at ``where`` unacknowledged so that it is read again."""
        first = where not in self.failures
        delay = self.backoff(where)
        log.warning("%s[%s]@%s failed (%r); redelivering in %.1fs", *where, error, delay,
                    exc_info=error if first else None)
        await asyncio.sleep(delay)
        raise NackMessage from error


class _DeadLetterScope(BaseMiddleware):  # type: ignore[type-arg]
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def after_processed(self, exc_type: type[BaseException] | None = None,
                              exc_val: BaseException | None = None,
                              exc_tb: TracebackType | None = None) -> bool | None:
        record: Any = self.msg  # aiokafka's ConsumerRecord
        where = (record.topic, record.partition, record.offset)
        if exc_val is None or not isinstance(exc_val, Exception) or isinstance(exc_val, HandlerException):
            self.policy.failures.pop(where, None)
            return False
        code = self.policy.classify(exc_val)
        if code is None:
            await self.policy.redeliver(where, exc_val)
        if code == UNPROCESSABLE:  # nobody foresaw it: the trace is for whoever fixes the code
            log.error("%s[%s]@%s failed unexpectedly; dead-lettering it", *where, exc_info=exc_val)
        headers = {
            "x-error": code,
            "x-error-message": f"{type(exc_val).__name__}: {exc_val}"[:2000] if code == UNPROCESSABLE
            else str(exc_val)[:2000],
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
        }
        try:
            await self.policy.sink(dead_letter_topic(record.topic), record.key, record.value or b"", headers)
        except Exception as error:  # the broker refused the dead letter: the message must not be lost
            await self.policy.redeliver(where, error)
        self.policy.failures.pop(where, None)
        DEAD_LETTERED.labels(record.topic, code).inc()
        log.info("%s[%s]@%s dead-lettered: %s", *where, code)
        return True  # handled: the offset is committed and the consumer goes on


def dead_lettering(topics: Iterable[str], *, classify: Classify = error_code,
                   delays: Sequence[float] = RETRY_DELAYS) -> KafkaRouter:
    """A router for the consumers of ``topics``: its subscribers are under the dead-letter policy, and it
    has one dead-letter publisher per topic (described in the AsyncAPI document)."""
    router = KafkaRouter()
    publishers = {
        dead_letter_topic(topic): router.publisher(
            dead_letter_topic(topic), title=dead_letter_topic(topic), schema=bytes,
            description=f"Messages of {topic} that can never apply; headers name the error (x-error, "
                        "x-error-message) and the origin (x-original-topic, x-original-partition, x-original-offset).")
        for topic in topics
    }

    async def sink(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await publishers[topic].publish(value, key=key, headers=headers)

    router.add_middleware(DeadLetters(sink, classify=classify, delays=delays))
    return router
