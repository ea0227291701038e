"""Idempotency keys, kept durably in the read database: the same key and body get the first answer.

Only successful answers are kept: a request that failed (402, 409, 422) did nothing, so trying
it again with the same key, once the cause is fixed, runs it again. The commands behind every POST
are themselves idempotent by ids derived from the key, so two concurrent first attempts converge.

Answers are kept by (kind of caller, caller, key) in ``idempotency_answers``: a user's keys and the
payment webhook's never meet, whatever a user id says. ``idempotency_keys`` holds the answers kept
before, under one text per caller (the user id, or ``webhook:payments``, which a user id could also
be); a repeat of such a request is still answered from it, when it is the same request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, literal, select, union_all
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ledger.names import USER_ID_MAX
from ledger.values import digest
from projections.db import UTCDateTime, create_tables
from service.commands import Scope
from service.errors import IdempotencyKeyReused, InvalidIdempotencyKey

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
metadata = MetaData()
idempotency_answers = Table(
    "idempotency_answers",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("principal", String(USER_ID_MAX), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
# Written before answers had a kind of caller; only read now.
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

# Built once: each POST runs the lookup (both tables in one round trip) and the record.
_answers, _former = idempotency_answers.c, idempotency_keys.c
FIND = union_all(
    select(literal(False).label("former"), _answers.fingerprint, _answers.status, _answers.body).where(
        (_answers.kind == bindparam("kind")) & (_answers.principal == bindparam("principal"))
        & (_answers.key == bindparam("key"))),
    select(literal(True).label("former"), _former.fingerprint, _former.status, _former.body).where(
        (_former.scope == bindparam("former")) & (_former.key == bindparam("key"))),
)
RECORD = idempotency_answers.insert()
# The same two statements as PostgreSQL reads them, sent to the driver as they are: SQLAlchemy's statement
# machinery (cache key, bound parameters, result rows) took about half of their CPU, and every POST runs both.
PG_FIND = ("SELECT false AS former, fingerprint, status, body FROM idempotency_answers "
           "WHERE kind = %(kind)s AND principal = %(principal)s AND key = %(key)s "
           "UNION ALL SELECT true, fingerprint, status, body FROM idempotency_keys "
           "WHERE scope = %(former)s AND key = %(key)s")
PG_RECORD = ("INSERT INTO idempotency_answers (kind, principal, key, fingerprint, status, body, created_at) "
             "VALUES (%(kind)s, %(principal)s, %(key)s, %(fingerprint)s, %(status)s, %(body)s::json, %(created_at)s)")


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
        self.plain = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"

    def setup(self) -> None:
        """Create the tables."""
        create_tables(self.engine, metadata)

    def once(self, scope: Scope, key: str, request: Any, run: Callable[[], tuple[int, dict[str, Any]]],
             ) -> tuple[int, dict[str, Any], bool]:
        """The stored answer for this key, or ``run()``'s, stored; a different request under the key is
        ``IdempotencyKeyReused``."""
        found = self.recall(scope, key, request)
        if found is not None:
            return found[0], found[1], True
        status, body = run()
        return self.keep(scope, key, request, status, body)

    def recall(self, scope: Scope, key: str, request: Any) -> tuple[int, dict[str, Any]] | None:
        """The answer stored for this key, or None; a different request under the key is ``IdempotencyKeyReused``."""
        fingerprint = digest(request)
        found = self._find(scope, key, fingerprint)
        return None if found is None else self._same(found, key, fingerprint)

    def keep(self, scope: Scope, key: str, request: Any, status: int, body: dict[str, Any],
             ) -> tuple[int, dict[str, Any], bool]:
        """Store a first answer; when a concurrent first attempt stored its own already, that one (and True)."""
        fingerprint = digest(request)
        now = datetime.now(UTC)
        row = {"kind": scope.kind, "principal": scope.principal, "key": key, "fingerprint": fingerprint,
               "status": status, "body": body, "created_at": now}
        try:
            with self.engine.connect() as conn:
                if self.plain:  # the body as JSON text, the time as naive UTC (as UTCDateTime stores it)
                    conn.exec_driver_sql(PG_RECORD, {**row, "body": json.dumps(body),
                                                     "created_at": now.replace(tzinfo=None)})
                else:
                    conn.execute(RECORD, row)
            return status, body, False
        except IntegrityError:
            found = self._find(scope, key, fingerprint)  # a concurrent first attempt stored its answer
            assert found is not None
        return (*self._same(found, key, fingerprint), True)

    @staticmethod
    def _same(found: Any, key: str, fingerprint: str) -> tuple[int, dict[str, Any]]:
        if found["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused(key)
        return int(found["status"]), dict(found["body"])

    def _find(self, scope: Scope, key: str, fingerprint: str) -> Any:
        asked = {"kind": scope.kind, "principal": scope.principal, "former": scope.former, "key": key}
        with self.engine.connect() as conn:
            found = conn.exec_driver_sql(PG_FIND, asked) if self.plain else conn.execute(FIND, asked)
            rows = found.mappings().all()
        current = [row for row in rows if not row["former"]]
        if current:
            return current[0]
        # An answer kept under the former scope is this caller's only for the same request: that scope
        # could not tell the payment webhook from a user whose id is "webhook:payments". Another request
        # under the key runs; the ledger's own ids still refuse one that conflicts with what was applied.
        return next((row for row in rows if row["fingerprint"] == fingerprint), None)
