"""The audit split across processes on PostgreSQL: each process is sent only the rows of its share,
and still finds exactly what one process finds, damaged rows included; and a read that waits on a
slow fold keeps its snapshot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from ledger import Ledger, Money
from projections.audit.stored import part_of, rows
from projections.audit.verify import Report, run_verify
from tests.conftest import PG
from tests.support.ledgers import T0, busy_ledger, complete, request

pytestmark = pytest.mark.integration
USERS = ("cy", "dee", "eve", "fay", "gus", "hal")


@pytest.fixture
def pg_app(pg_env: dict[str, str]) -> Iterator[Ledger]:
    ledger = Ledger(pg_env)
    busy_ledger(ledger)
    for n, user in enumerate(USERS):  # wallets in every part of two and of three
        ledger.purchase(user_id=user, payment_id=f"p-{user}", pack_id="starter", amount=50,
                        price=Money(499, "USD"), at=T0)
        for k in range(3):
            at = T0 + timedelta(hours=n, minutes=10 * k)
            complete(ledger, request(ledger, user, f"{user}-{k}", 5, at), at + timedelta(minutes=1))
    yield ledger
    ledger.close()


def table(app: Ledger) -> sql.Composed:
    return sql.SQL("{}.ledger_events").format(sql.Identifier(app.env["POSTGRES_SCHEMA"]))


def edit_request(app: Ledger, edit: Any) -> int:
    """Rewrite the stored state of the first ``GenerationRequested`` with ``edit``; its position."""
    with psycopg.connect(dbname=app.env["POSTGRES_DBNAME"], autocommit=True, **PG) as conn:
        found = conn.execute(sql.SQL("SELECT notification_id, state FROM {} WHERE topic LIKE %s "
                                     "ORDER BY notification_id LIMIT 1").format(table(app)),
                             ("%.GenerationRequested",)).fetchone()
        assert found is not None
        conn.execute(sql.SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(table(app)),
                     (edit(bytes(found[1])), found[0]))
    position: int = found[0]
    return position


def same_findings(app: Ledger, *workers: int) -> Report:
    alone = run_verify(app)
    for n in workers:
        split = run_verify(app, workers=n)
        assert split.events == alone.events
        assert split.wallets == alone.wallets
        assert sorted(map(str, split.findings)) == sorted(map(str, alone.findings)), n
        assert split.problems == alone.problems
    return alone


def test_each_process_is_sent_only_the_rows_of_its_share(pg_app: Ledger) -> None:
    parts = {part_of(str(pg_app.wallet(u).id), 2) for u in USERS}  # type: ignore[union-attr]
    assert parts == {0, 1}
    alone = same_findings(pg_app, 2, 3)
    assert alone.ok
    for n in (2, 3):
        split = run_verify(pg_app, workers=n)
        assert len(split.rows_read) == len(split.cpu_seconds) == n
        assert all(0 < read < alone.events for read in split.rows_read), split.rows_read
        assert sum(split.rows_read) < alone.events * 1.5


def test_a_request_whose_wallet_id_is_not_utf8_is_found_once(pg_app: Ledger) -> None:
    marker = b'"_data_":"'

    def damage(state: bytes) -> bytes:
        at = state.index(marker, state.index(b'"wallet_id"')) + len(marker)
        return state[:at + 3] + b"\xff" + state[at + 4:]  # the id's last hex digits stay readable

    position = edit_request(pg_app, damage)
    alone = same_findings(pg_app, 2, 3)
    assert [(f.position, "UnicodeDecodeError" in f.problem) for f in alone.findings][:1] == [(position, True)]


@pytest.mark.parametrize("edit", [
    lambda s: s.replace(s[s.index(b'"wallet_id"'):][43:75], b"z" * 32, 1),  # not hexadecimal
    lambda s: s.replace(s[s.index(b'"wallet_id"'):][43:75], s[s.index(b'"wallet_id"'):][43:75].upper(), 1),
    lambda s: s.replace(b'"wallet_id"', b'"wallet_ix"', 1),  # no wallet id to route by
    lambda s: s.replace(b'"wallet_id"', b'"wallet_id" ', 1),  # the same JSON, spaced: the hint is not found
    lambda s: s[:s.index(b'"wallet_id"') + 50],  # cut short inside the hint
], ids=["not-hex", "upper-case", "missing", "spaced", "truncated"])
def test_a_request_the_filter_cannot_route_is_still_folded_where_one_process_folds_it(
        pg_app: Ledger, edit: Any) -> None:
    edit_request(pg_app, edit)
    same_findings(pg_app, 2, 3)


def test_the_rows_read_stop_at_the_last_position_asked_for(pg_app: Ledger) -> None:
    every = [r.position for page in rows(pg_app) for r in page]
    last = every[len(every) // 2]
    assert [r.position for page in rows(pg_app, upto=last, page=7) for r in page] == every[:len(every) // 2 + 1]
    shared = [r.position for page in rows(pg_app, upto=last, share=(1, 2)) for r in page]
    assert shared and max(shared) <= last and set(shared) < set(every)


def test_the_read_outlasts_a_fold_slower_than_the_stores_idle_timeout(pg_env: dict[str, str]) -> None:
    ledger = Ledger({**pg_env, "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "1"})
    try:
        busy_ledger(ledger)
        read = 0
        for n, page in enumerate(rows(ledger, page=2)):
            if n == 0:
                time.sleep(2.5)  # a busy host: the next pages wait, fetched ahead, in an open transaction
            read += len(page)
        assert read == len(list(r for page in rows(ledger) for r in page)) > 10
    finally:
        ledger.close()
