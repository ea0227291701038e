"""The projections agree with the aggregates, on every store, and apply each event exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.engine import Engine

from ledger import Ledger, Money
from ledger.event_store.follow import Stored
from projections import ConcurrentProjector, Projector, all_projections, balances, queries
from projections.audit.diff import ProjectionDiff
from projections.audit.verify import run_verify
from projections.balances import wallet_balances, wallet_grants
from projections.base import Write
from projections.generations import gallery, generations
from projections.journal import Journal, journal
from projections.statement import wallet_statement
from tests.conftest import T0

pytestmark = pytest.mark.integration
TABLES = (wallet_balances, wallet_grants, wallet_statement, generations, gallery, journal)


def a_busy_month(ledger: Ledger) -> None:
    """Purchases, bonuses, holds resolved every way, expiry, a refund and adjustments, for two users."""
    t = T0
    ledger.purchase(user_id="alice", payment_id="p1", pack_id="starter", amount=100, price=Money(9900, "INR"), at=t)
    ledger.grant_promo(user_id="alice", reference="promo1", amount=30, reason="launch", at=t,
                       expires_at=t + timedelta(days=2))
    ledger.grant_referral_bonus(referral_id="r1", awards=[{"user_id": "alice", "credits": 50, "role": "referrer"},
                                                          {"user_id": "bob", "credits": 20, "role": "referee"}],
                                at=t, expires_at=None)
    ledger.place_hold(user_id="alice", hold_id="h1", amount=40, at=t + timedelta(hours=1))
    ledger.capture(user_id="alice", hold_id="h1", amount=25, at=t + timedelta(hours=1, minutes=5))
    ledger.place_hold(user_id="alice", hold_id="h2", amount=10, at=t + timedelta(hours=3))
    ledger.release(user_id="alice", hold_id="h2", at=t + timedelta(hours=3, minutes=5))
    ledger.place_hold(user_id="bob", hold_id="h3", amount=15, at=t + timedelta(hours=5))
    ledger.expire_hold(user_id="bob", hold_id="h3", at=t + timedelta(hours=6))
    ledger.expire_credits(user_id="alice", at=t + timedelta(days=3))
    ledger.refund_purchase(payment_id="p1", at=t + timedelta(days=4))
    ledger.adjust(user_id="bob", reference="fix1", delta=-5, reason="duplicate bonus", at=t + timedelta(days=5))
    ledger.adjust(user_id="bob", reference="fix2", delta=12, reason="goodwill", at=t + timedelta(days=5))
    gen = ledger.request_generation(user_id="alice", request_key="k1", template_id="poster", template_version=1,
                                    variables={"title": "Launch"}, input_image=None, cost=10,
                                    at=t + timedelta(days=6)).value
    ledger.start_generation(generation_id=gen, worker="w1", at=t + timedelta(days=6, seconds=1))
    ledger.complete_generation(generation_id=gen, at=t + timedelta(days=6, seconds=5), image_url="/media/a.png",
                               storage_id="a.png", provider="local", model="local", seed=1, timings={})
    ledger.share_generation(generation_id=gen, user_id="alice", token="tok1", at=t + timedelta(days=6, seconds=9))
    failed = ledger.request_generation(user_id="bob", request_key="k2", template_id="poster", template_version=1,
                                       variables={}, input_image=None, cost=5, at=t + timedelta(days=6)).value
    ledger.fail_generation(generation_id=failed, reason="model down", retryable=False, at=t + timedelta(days=7))


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table, in a stable order."""
    return {t.name: sorted(tuple(map(str, r)) for r in conn.execute(select(t))) for t in TABLES}


def test_balances_agree_with_the_wallet_aggregates(app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    projector = Projector(app, read_engine, all_projections())
    projector.setup()
    projector.catch_up()
    at = T0 + timedelta(days=8)
    with read_engine.connect() as conn:
        for user in ("alice", "bob"):
            aggregate = app.wallet(user)
            assert aggregate is not None
            row = queries.wallet(conn, user, at)
            assert row is not None
            assert row["available"] == aggregate.available(at)
            assert row["by_source"] == aggregate.by_source(at)
            assert row["held"] == aggregate.held
            assert row["spent"] == aggregate.consumed
            assert row["expired"] == aggregate.expired
            assert row["clawed_back"] == aggregate.clawed_back
            assert row["purchased"] + row["granted"] == aggregate.granted
            assert row["balance"] == aggregate.remaining


def test_the_wallet_read_postgresql_is_sent_as_written_gives_what_sqlalchemys_statement_gives(
        app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    lapses = T0 + timedelta(days=30)
    app.grant_promo(user_id="alice", reference="promo2", amount=7, reason="later", at=T0 + timedelta(days=8),
                    expires_at=lapses)
    projector = Projector(app, read_engine, all_projections())
    projector.setup()
    projector.catch_up()
    with read_engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("the statement as written is PostgreSQL's")
        for at in (T0 + timedelta(days=9), lapses - timedelta(microseconds=1), lapses):
            for user in ("alice", "bob", "nobody", "o'brien %(at)s"):
                plain = balances.wallet_rows(conn, user, at, plain=True)
                built = balances.wallet_rows(conn, user, at, plain=False)
                order = lambda r: (r["source"] or "", str(r["grant_expires_at"]))  # noqa: E731
                assert sorted(plain, key=order) == sorted(built, key=order)
                assert all(r["opened_at"].tzinfo is UTC and r["updated_at"].tzinfo is UTC for r in plain)
            alice = balances.wallet_available(conn, "alice", at)
            assert alice is not None
            assert alice["next_expiry"] == ((7, lapses) if at < lapses else None)
            assert alice["by_source"] == ({"referral": 40, "promo": 7} if at < lapses else {"referral": 40})


def test_statement_lines_carry_a_running_balance(app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    projector = Projector(app, read_engine, all_projections())
    projector.setup()
    projector.catch_up()
    with read_engine.connect() as conn:
        lines = list(reversed(queries.statement(conn, "alice", before=None, limit=500)))
        page = queries.statement(conn, "alice", before=lines[-1]["position"], limit=3)
    running = 0
    for line in lines:
        running += line["change"]
        assert line["balance"] == running
    assert lines[0]["type"] == "WalletOpened"
    assert [p["position"] for p in page] == [line["position"] for line in lines[-2:-5:-1]]
    aggregate = app.wallet("alice")
    assert aggregate is not None and lines[-1]["balance"] == aggregate.remaining


def test_generations_and_gallery_follow_each_image(app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    projector = Projector(app, read_engine, all_projections())
    projector.setup()
    projector.catch_up()
    with read_engine.connect() as conn:
        assert queries.generations_by_status(conn) == {"completed": 1, "failed": 1}
        alice = queries.user_gallery(conn, "alice", before=None, limit=10)
        assert [(r["image_url"], r["thumbnail_url"], r["share_token"]) for r in alice] == [
            ("/media/a.png", "/media/a_thumb.jpg", "tok1")]
        assert queries.user_gallery(conn, "bob", before=None, limit=10) == []
        shared = queries.shared_image(conn, "tok1")
        assert shared is not None and shared["title"] == "Launch"


def test_an_unshared_image_leaves_the_gallery_public_index_and_the_audit_still_verifies(
        app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    [gen] = [uuid.UUID(str(n.originator_id)) for n in app.recorder.select_notifications(1, 1000)
             if n.topic.endswith("GenerationShared")]
    app.unshare_generation(generation_id=gen, user_id="alice", at=datetime.now(UTC))
    repeated = app.unshare_generation(generation_id=gen, user_id="alice", at=datetime.now(UTC))
    assert repeated.repeated and repeated.value is False
    projector = Projector(app, read_engine, [*all_projections(), Journal()])
    projector.setup()
    projector.catch_up()
    with read_engine.connect() as conn:
        assert queries.shared_image(conn, "tok1") is None
        [row] = queries.user_gallery(conn, "alice", before=None, limit=10)
        assert (row["share_token"], row["shared_at"]) == (None, None)
        found = queries.generation(conn, gen)
        assert found is not None and found["share_token"] is None
    report = run_verify(app, projections=ProjectionDiff(read_engine))
    assert report.ok, report.text()


def test_every_events_postings_sum_to_zero_in_credits_and_in_money(app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    projector = Projector(app, read_engine, all_projections())
    projector.setup()
    projector.catch_up()
    with read_engine.connect() as conn:
        per_event = conn.execute(select(journal.c.position, func.sum(journal.c.credits))
                                 .group_by(journal.c.position)).all()
        per_currency = conn.execute(select(journal.c.position, journal.c.currency, func.sum(journal.c.money_minor))
                                    .group_by(journal.c.position, journal.c.currency)).all()
        revenue = conn.execute(select(func.sum(journal.c.money_minor))
                               .where(journal.c.account == "money:refunds_paid")).scalar()
    assert per_event and all(total == 0 for _, total in per_event)
    assert all(total == 0 for _, _, total in per_currency)
    assert revenue == -9900


class Crash(BaseException):
    """The projector process dying between applying an event and committing (a BaseException, as a
    process's death is no error of the event's: the projector would set aside an event that raised one)."""


class CrashingOn:
    """Wraps a projection and dies, once, after applying the page that holds a given position."""

    def __init__(self, inner: Any, position: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.tables = inner.tables
        self.position = position

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        writes = list(self.inner.writes(conn, page))
        if any(s.position == self.position for s in page):
            self.position = -1
            writes.append((DIE, {}))  # run after every write of the page, before the commit
        return writes


DIE = text("SELECT 'the projector dies here'")


def die_on_marker(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    if "the projector dies here" in statement:
        raise Crash("killed after applying the page, before the commit")


def test_a_crash_before_the_commit_applies_nothing_and_a_restart_applies_everything_once(
        app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    head = app.recorder.max_notification_id() or 0
    crashing = [CrashingOn(p, head // 2) if p.name == "wallet_statement" else p for p in all_projections()]
    first = Projector(app, read_engine, crashing, page_size=7)
    first.setup()
    event.listen(read_engine, "before_cursor_execute", die_on_marker)
    try:
        with pytest.raises(Crash):
            first.catch_up()
    finally:
        event.remove(read_engine, "before_cursor_execute", die_on_marker)
    with read_engine.connect() as conn:
        reached = queries.tracked_positions(conn)
        assert reached["wallet_statement"] < head // 2
        lines = conn.execute(select(wallet_statement.c.position)).scalars().all()
        assert max(lines, default=0) <= reached["wallet_statement"]
    restarted = Projector(app, read_engine, all_projections(), page_size=7)
    restarted.setup()
    restarted.catch_up()
    with read_engine.connect() as conn:
        resumed = snapshot(conn)
    restarted.rebuild()
    with read_engine.connect() as conn:
        assert snapshot(conn) == resumed
        assert set(queries.tracked_positions(conn).values()) == {head}


def test_a_second_projector_on_the_same_tables_never_applies_a_page_twice(app: Ledger, read_engine: Engine) -> None:
    a_busy_month(app)
    first = Projector(app, read_engine, all_projections(), page_size=5)
    second = Projector(app, read_engine, all_projections(), page_size=5)
    first.setup()
    second.setup()
    first.catch_up()
    with pytest.raises(ConcurrentProjector):
        second.catch_up()
    with read_engine.connect() as conn:
        moved = snapshot(conn)
    first.rebuild()
    with read_engine.connect() as conn:
        assert snapshot(conn) == moved
