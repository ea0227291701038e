"""The audit on real stores: a clean log verifies on every store, tampering in PostgreSQL is found
and named, and the read tables are compared with the replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import func, select, update

from ledger import Ledger, wallet_id
from projections import Projector, all_projections
from projections.audit.diff import ProjectionDiff
from projections.audit.verify import Report, run_verify
from projections.balances import wallet_balances
from projections.db import make_engine
from projections.journal import Journal, journal
from projections.statement import wallet_statement
from tests.conftest import PG
from tests.support.ledgers import busy_ledger

pytestmark = pytest.mark.integration


@pytest.fixture
def app(store_env: dict[str, str]) -> Iterator[Ledger]:
    ledger = Ledger(store_env)
    busy_ledger(ledger)
    yield ledger
    ledger.close()


@pytest.fixture
def pg_app(pg_env: dict[str, str]) -> Iterator[Ledger]:
    ledger = Ledger(pg_env)
    busy_ledger(ledger)
    yield ledger
    ledger.close()


def events_of(app: Ledger, user: str) -> tuple[psycopg.Connection[Any], sql.Composed, list[tuple[Any, ...]]]:
    """A connection to the event store, the events table's name, and ``user``'s wallet rows by version."""
    env = app.env
    conn = psycopg.connect(dbname=env["POSTGRES_DBNAME"], autocommit=True, **PG)
    table = sql.SQL("{}.ledger_events").format(sql.Identifier(env["POSTGRES_SCHEMA"]))
    found = conn.execute(sql.SQL("SELECT notification_id, originator_version, topic, state FROM {} "
                                 "WHERE originator_id = %s ORDER BY originator_version").format(table),
                         (wallet_id(user),)).fetchall()
    return conn, table, found


def problems(report: Report) -> list[str]:
    return [str(f) for f in report.findings]


def test_a_clean_log_verifies_on_every_store(app: Ledger) -> None:
    report = run_verify(app)
    assert report.ok, report.text()
    assert report.events == app.recorder.max_notification_id()
    assert report.wallets == 2


def test_an_edited_payload_is_found_at_the_next_event_of_its_wallet(pg_app: Ledger) -> None:
    conn, table, found = events_of(pg_app, "ann")
    position, _, topic, state = found[1]
    assert topic.endswith("CreditsPurchased")
    with conn:
        conn.execute(sql.SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(table),
                     (bytes(state).replace(b'"credits":100', b'"credits":1000'), position))
    report = run_verify(pg_app)
    assert not report.ok
    chain = [f for f in report.findings if "hash chain broken" in f.problem]
    assert [(f.user, f.position, f.event) for f in chain] == [("ann", found[2][0], found[2][2].rpartition(".")[2])]
    assert f"CreditsPurchased at position {position}" in chain[0].problem
    assert any("left 900 credits" in p for p in problems(report))


def test_a_deleted_event_is_found_as_a_gap_in_its_wallets_versions(pg_app: Ledger) -> None:
    conn, table, found = events_of(pg_app, "ann")
    holds = [r for r in found if r[2].endswith("HoldPlaced")]
    position, version = holds[1][0], holds[1][1]
    with conn:
        conn.execute(sql.SQL("DELETE FROM {} WHERE notification_id = %s").format(table), (position,))
    report = run_verify(pg_app)
    gap = [f for f in report.findings if "missing" in f.problem]
    assert gap and gap[0].user == "ann"
    assert f"events v{version}..v{version} are missing" in gap[0].problem
    assert gap[0].position == found[version][0]  # the event after the deleted one
    assert any("was never placed" in p for p in problems(report))


def test_two_swapped_events_are_found_where_the_chain_breaks(pg_app: Ledger) -> None:
    conn, table, found = events_of(pg_app, "bob")
    first, second = found[3], found[4]
    swap = sql.SQL("UPDATE {} SET topic = %s, state = %s WHERE notification_id = %s").format(table)
    with conn:
        conn.execute(swap, (second[2], second[3], first[0]))
        conn.execute(swap, (first[2], first[3], second[0]))
    report = run_verify(pg_app)
    chain = [f for f in report.findings if "hash chain broken" in f.problem]
    assert chain[0].user == "bob"
    assert chain[0].position == first[0]
    assert chain[0].event == second[2].rpartition(".")[2]


def test_the_read_tables_agree_with_the_replay_until_one_is_edited(app: Ledger, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    projector = Projector(app, engine, [*all_projections(), Journal()])
    projector.setup()
    projector.catch_up()
    diff = ProjectionDiff(engine)
    report = run_verify(app, projections=diff)
    assert report.ok, report.text()
    assert diff.compared["wallet_balances"] == diff.compared["wallet_statement"] == 2
    assert diff.compared["generations"] == 5
    assert diff.compared["journal_lines"] > 50
    with engine.begin() as conn:
        conn.execute(update(wallet_balances).where(wallet_balances.c.user_id == "bob")
                     .values(spent=wallet_balances.c.spent + 1))
    report = run_verify(app, projections=ProjectionDiff(engine))
    assert [(f.user, f.event) for f in report.findings] == [("bob", "wallet_balances")]
    assert "spent read table 46 replay 45" in report.findings[0].problem
    engine.dispose()


def test_an_edited_statement_or_journal_line_is_found(app: Ledger, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    projector = Projector(app, engine, [*all_projections(), Journal()])
    projector.setup()
    projector.catch_up()
    with engine.begin() as conn:
        last = conn.execute(select(func.max(wallet_statement.c.position))
                            .where(wallet_statement.c.user_id == "ann")).scalar_one()
        conn.execute(update(wallet_statement).where(wallet_statement.c.position == last).values(held=7))
        conn.execute(update(journal).where(journal.c.account == "money:revenue").values(money_minor=-1))
    report = run_verify(app, projections=ProjectionDiff(engine))
    problems = {f.event: f for f in report.findings}
    assert problems["wallet_statement"].user == "ann"
    assert "held read table 7 replay 0" in problems["wallet_statement"].problem
    assert "account money:revenue INR" in problems["journal"].problem
    engine.dispose()


def test_two_processes_find_what_one_finds(pg_app: Ledger) -> None:
    conn, table, found = events_of(pg_app, "bob")
    with conn:
        conn.execute(sql.SQL("DELETE FROM {} WHERE notification_id = %s").format(table), (found[3][0],))
    alone, split = run_verify(pg_app), run_verify(pg_app, workers=2)
    assert split.events == alone.events
    assert split.wallets == alone.wallets == 2
    assert sorted(map(str, split.findings)) == sorted(map(str, alone.findings))
    assert len(split.peak_rss_mb) == 2


def test_two_events_with_swapped_versions_are_found_out_of_order(pg_app: Ledger) -> None:
    conn, table, found = events_of(pg_app, "ann")
    (first, v1, _, _), (second, v2, _, _) = found[4][:4], found[5][:4]
    move = sql.SQL("UPDATE {} SET originator_version = %s WHERE notification_id = %s").format(table)
    with conn:
        conn.execute(move, (-1, first))
        conn.execute(move, (v1, second))
        conn.execute(move, (v2, first))
    report = run_verify(pg_app)
    order = [f for f in report.findings if f.user == "ann" and f.position in (first, second)]
    assert order and order[0].position == first
    assert f"events v{v1}..v{v1} are missing" in order[0].problem
    assert any(f"version {v1} comes after version {v2}" in f.problem for f in order)


def test_a_deleted_reference_is_found_at_the_grant_it_vouched_for(pg_app: Ledger) -> None:
    conn, table, found = events_of(pg_app, "ann")
    purchase = next(r for r in found if r[2].endswith("CreditsPurchased"))
    reference = conn.execute(sql.SQL("SELECT notification_id FROM {} WHERE topic LIKE %s ORDER BY notification_id "
                                     "LIMIT 1").format(table), ("%ReferenceRecorded",)).fetchone()
    assert reference is not None and reference[0] == purchase[0] + 1
    with conn:
        conn.execute(sql.SQL("DELETE FROM {} WHERE notification_id = %s").format(table), reference)
    report = run_verify(pg_app)
    assert [(f.user, f.position) for f in report.findings] == [("ann", purchase[0])]
    assert "has no recorded reference" in report.findings[0].problem


def test_the_cli_splits_a_postgresql_audit_without_the_diff_across_the_cores(
        pg_app: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from api import audit_cli
    from api.cli import app as cli

    monkeypatch.setattr(audit_cli.os, "cpu_count", lambda: 2)
    env = pg_app.env
    settings = {"STUDIO_STORE": "postgres", "STUDIO_POSTGRES_DB": env["POSTGRES_DBNAME"],
                "STUDIO_POSTGRES_SCHEMA": env["POSTGRES_SCHEMA"], "STUDIO_POSTGRES_HOST": PG["host"],
                "STUDIO_POSTGRES_PORT": PG["port"], "STUDIO_POSTGRES_USER": PG["user"],
                "STUDIO_POSTGRES_PASSWORD": PG["password"]}

    def verify(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, ["audit", "verify", "--json", "--no-progress", *args], env=settings)
        assert result.exit_code == 0, result.output
        report: dict[str, Any] = json.loads(result.output)
        return report

    assert verify("--no-projections")["workers"] == 2
    assert verify("--no-projections", "--workers", "1")["workers"] == 1
    assert verify()["workers"] == 1  # comparing the read tables needs the whole replay in one process
