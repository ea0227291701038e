"""Idempotency keys, kept durably in the read database: the same key and body get the first answer.

Only successful answers are kept: a request that failed (402, 409, 422) did nothing, so trying
it again with the same key, once the cause is fixed, runs it again. The commands behind every POST
are themselves idempotent by ids derived from the key, so two concurrent first attempts converge.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ledger.values import digest
from projections.db import UTCDateTime, create_tables
from service.errors import IdempotencyKeyReused, InvalidIdempotencyKey

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
metadata = MetaData()
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Built once: each POST runs both.
FIND = select(idempotency_keys).where(
    (idempotency_keys.c.scope == bindparam("scope")) & (idempotency_keys.c.key == bindparam("key")))
RECORD = idempotency_keys.insert()


def check_key(key: str) -> str:
    """The key if it is 1 to 200 visible ASCII characters, else ``InvalidIdempotencyKey``."""
    if not KEY.match(key):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1 to 200 visible ASCII characters")
    return key


class IdempotencyStore:
    """Remembers the first successful answer to each (caller, key)."""

    def __init__(self, engine: Engine) -> None:
        # Each statement on its own (the insert is one statement): no BEGIN, COMMIT or ROLLBACK
        # round trips around the lookup and the record.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def setup(self) -> None:
        """Create the table."""
        create_tables(self.engine, metadata)

    def once(self, scope: str, key: str, request: Any, run: Callable[[], tuple[int, dict[str, Any]]],
             ) -> tuple[int, dict[str, Any], bool]:
        """The stored answer for this key, or ``run()``'s, stored; a different request under the key is
        ``IdempotencyKeyReused``."""
        found = self.recall(scope, key, request)
        if found is not None:
            return found[0], found[1], True
        status, body = run()
        return self.keep(scope, key, request, status, body)

    def recall(self, scope: str, key: str, request: Any) -> tuple[int, dict[str, Any]] | None:
        """The answer stored for this key, or None; a different request under the key is ``IdempotencyKeyReused``."""
        found = self._find(scope, key)
        return None if found is None else self._same(found, key, request)

    def keep(self, scope: str, key: str, request: Any, status: int, body: dict[str, Any],
             ) -> tuple[int, dict[str, Any], bool]:
        """Store a first answer; when a concurrent first attempt stored its own already, that one (and True)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(RECORD, {"scope": scope, "key": key, "fingerprint": digest(request), "status": status,
                                      "body": body, "created_at": datetime.now(UTC)})
            return status, body, False
        except IntegrityError:
            found = self._find(scope, key)
            assert found is not None
        return (*self._same(found, key, request), True)

    @staticmethod
    def _same(found: Any, key: str, request: Any) -> tuple[int, dict[str, Any]]:
        if found["fingerprint"] != digest(request):
            raise IdempotencyKeyReused(key)
        return int(found["status"]), dict(found["body"])

    def _find(self, scope: str, key: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(FIND, {"scope": scope, "key": key}).mappings().first()
