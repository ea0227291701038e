"""Failure handling of the inbound consumers: bad messages to `<topic>.dlq`, transient failures retried.

A message that can never apply (invalid JSON, a schema violation, a rejection by the credit policy
or the ledger) is published to the topic's dead-letter topic with headers naming the error and
where it came from, then committed so the consumer goes on. Any other failure (the database is
unreachable) is transient: the message is not committed, and is delivered again after a backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

from fast_depends.exceptions import ValidationError as ArgumentsInvalid
from faststream import BaseMiddleware
from faststream.exceptions import NackMessage
from pydantic import ValidationError

from ledger import LedgerError
from service.payments import RejectedMessage

log = logging.getLogger(__name__)
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
DeadLetterSink = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]


class InvalidJson(ValueError):
    """A message body that is not JSON."""

    code = "invalid-json"


def strict_json(body: bytes) -> Any:
    """The JSON value of a message body, whatever its content type says; ``InvalidJson`` if it is not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidJson(f"message body is not JSON: {error}") from None


def error_code(error: BaseException) -> str | None:
    """The dead-letter reason for an error that no retry can cure, or None for a transient one."""
    if isinstance(error, ArgumentsInvalid | ValidationError):
        return "schema-violation"
    if isinstance(error, InvalidJson | RejectedMessage | LedgerError):
        return str(error.code)
    return None


def dead_letter_topic(topic: str) -> str:
    """Where the bad messages of ``topic`` go."""
    return f"{topic}.dlq"


class DeadLetters:
    """Middleware factory: dead-letters bad messages through ``sink``, retries transient failures."""

    def __init__(self, sink: DeadLetterSink, *, delays: Sequence[float] = RETRY_DELAYS) -> None:
        self.sink = sink
        self.delays = tuple(delays)
        self.failures: dict[tuple[str, int, int], int] = {}

    def __call__(self, msg: Any, /, *, context: Any) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, policy=self)

    def backoff(self, where: tuple[str, int, int]) -> float:
        """The pause before redelivering the message at ``where`` (grows with each failure)."""
        count = self.failures.get(where, 0)
        self.failures[where] = count + 1
        return self.delays[min(count, len(self.delays) - 1)]


class _DeadLetterScope(BaseMiddleware):  # type: ignore[type-arg]
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def after_processed(self, exc_type: type[BaseException] | None = None,
                              exc_val: BaseException | None = None,
                              exc_tb: TracebackType | None = None) -> bool | None:
        record: Any = self.msg  # aiokafka's ConsumerRecord
        where = (record.topic, record.partition, record.offset)
        if exc_val is None or not isinstance(exc_val, Exception) or isinstance(exc_val, NackMessage):
            self.policy.failures.pop(where, None)
            return False
        code = error_code(exc_val)
        if code is None:
            delay = self.policy.backoff(where)
            log.warning("%s[%s]@%s failed (%r); redelivering in %.1fs", *where, exc_val, delay)
            await asyncio.sleep(delay)
            raise NackMessage from exc_val
        self.policy.failures.pop(where, None)
        headers = {
            "x-error": code,
            "x-error-message": str(exc_val)[:2000],
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
        }
        await self.policy.sink(dead_letter_topic(record.topic), record.key, record.value or b"", headers)
        log.info("%s[%s]@%s dead-lettered: %s", *where, code)
        return True  # handled: the offset is committed and the consumer goes on
