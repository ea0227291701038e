"""Which failures are worth trying again: a database or the network out of reach, never the input.

A consumer (Kafka, or the embedded default's in-process dispatch) retries these and sets aside
anything else: an error nobody foresaw would meet the same input the same way every time, and
retried for ever it would hold up everything queued behind it.
"""

from __future__ import annotations

import sqlite3

import eventsourcing.persistence as store_errors
import psycopg
import sqlalchemy.exc

from ledger import LedgerUnavailable

# A store's DataError or ProgrammingError is not here: the same input would meet it every time.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # connections refused or reset, timeouts, a full disk
    LedgerUnavailable,
    store_errors.OperationalError, store_errors.InterfaceError, store_errors.InternalError,
    store_errors.ConnectionPoolClosedError, store_errors.WaitInterruptedError, store_errors.ShutDown,
    sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError,
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
)


def transient(error: BaseException) -> bool:
    """Whether ``error`` is a failure of a database or the network, which a later try may not meet."""
    return isinstance(error, TRANSIENT)
