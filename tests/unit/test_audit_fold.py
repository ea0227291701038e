"""The audit's replay of raw stored events: same hashes as the ledger, no findings on a clean log,
balances as of any instant equal to what the ledger decided at that instant."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from ledger import Ledger
from ledger.values import event_hash
from projections.audit.fold import Replay
from projections.audit.replay import replay
from projections.audit.reports import JournalWindow, Summary, balance_rows
from projections.audit.stored import decode, prefetched, rows, state_hash
from tests.support.ledgers import T0, busy_ledger

pytestmark = pytest.mark.unit
@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def test_the_fast_hash_of_every_stored_wallet_event_equals_the_ledgers_event_hash(app: Ledger) -> None:
    busy_ledger(app)
    checked = 0
    for page in rows(app):
        for row in page:
            if row.topic.startswith("ledger.wallet:"):
                notification = app.recorder.select_notifications(start=row.position, limit=1)[0]
                event = app.mapper.to_domain_event(notification)
                assert state_hash(row.originator_id, row.version, decode(row.state)) == event_hash(event)
                checked += 1
    assert checked > 25


def test_a_clean_log_has_no_findings_and_a_balanced_journal(app: Ledger) -> None:
    busy_ledger(app)
    folded = replay(app)
    assert folded.findings == []
    assert folded.events == app.recorder.max_notification_id()
    assert folded.journal == {"credits": 0, "USD": 0, "INR": 0}
    assert {w.user_id for w in folded.wallets.values()} == {"ann", "bob"}
    assert [g.status for g in folded.generations.values()] == ["requested"]  # g5, its hold left to expire


def test_balances_as_of_an_instant_are_what_the_ledger_saw_then(app: Ledger) -> None:
    for at, user, available, by_source in busy_ledger(app):
        balances = {r["user_id"]: r for r in balance_rows(replay(app, until=at), at)}
        assert (balances[user]["available"], balances[user]["by_source"]) == (available, by_source), at


def test_balances_before_a_wallet_opened_leave_it_out(app: Ledger) -> None:
    busy_ledger(app)
    assert balance_rows(replay(app, until=T0 - timedelta(seconds=1)), T0) == []


def test_the_summary_carries_revenue_refunds_and_outstanding_credits_per_month(app: Ledger) -> None:
    busy_ledger(app)
    summary = Summary("month")
    replay(app, on_entry=summary)
    (jan,) = summary.rows()
    ann = app.wallet("ann")
    bob = app.wallet("bob")
    assert ann is not None and bob is not None
    assert jan["period"] == "2026-01"
    assert jan["outstanding_credits"] == ann.remaining + ann.held + bob.remaining + bob.held
    assert jan["cash_received"] == {"USD": 999, "INR": 4000}
    assert jan["refunds_paid"]["USD"] > 0
    assert jan["bonus_issued"] == 20 + 10 + 5 + 8 + 2


def test_a_journal_window_keeps_only_the_events_in_it(app: Ledger) -> None:
    busy_ledger(app)
    entries: list[dict[str, Any]] = []
    replay(app, on_entry=JournalWindow(T0 + timedelta(days=3), T0 + timedelta(days=4), entries.append))
    assert {e["event"] for e in entries} == {"CreditsAdjusted", "ShareBonusGranted"}
    assert all(sum(p["credits"] for p in e["lines"]) == 0 for e in entries)


def test_a_damaged_row_is_a_finding_not_a_crash(app: Ledger) -> None:
    busy_ledger(app)
    folded = Replay()
    for page in rows(app):
        folded.feed([r._replace(state=b"{not json") if r.position == 4 else r for r in page])
    folded.finish()
    assert "unreadable stored event" in folded.findings[0].problem
    assert folded.findings[0].position == 4


def test_a_capture_after_the_holds_deadline_is_found(app: Ledger) -> None:
    busy_ledger(app)
    folded = Replay()
    late = '"_data_":"2026-01-01T09:00:00+00:00"'
    for page in rows(app):
        first_capture = next(r.position for r in page if r.kind == "HoldCaptured")
        folded.feed([r._replace(state=re.sub(rb'"_data_":"[^"]+"', late.encode(), r.state, count=1))
                     if r.position == first_capture else r for r in page])
    folded.finish()
    deadline = [f for f in folded.findings if "ended after its deadline" in f.problem]
    assert [(f.user, f.position, f.event) for f in deadline] == [("ann", first_capture, "HoldCaptured")]


def test_prefetched_pages_arrive_in_order_and_a_reader_error_reaches_the_folder() -> None:
    def pages(fail_at: int | None) -> Iterator[list[Any]]:
        for n in range(6):
            if n == fail_at:
                raise ConnectionError("server closed the connection")
            yield [n]

    assert list(prefetched(pages(None))) == [[n] for n in range(6)]
    with pytest.raises(ConnectionError, match="server closed"):
        list(prefetched(pages(3)))


def test_a_folder_that_stops_early_stops_the_prefetching_thread() -> None:
    fetched: list[int] = []

    def pages() -> Iterator[list[int]]:
        for n in range(1_000):
            fetched.append(n)
            yield [n]

    ahead = prefetched(pages(), depth=2)
    assert next(ahead) == [0]
    ahead.close()  # joins the thread
    assert len(fetched) <= 5
    assert not [t for t in threading.enumerate() if t.name == "studio-audit-fetch"]
