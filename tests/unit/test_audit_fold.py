"""The audit's replay of raw stored events: same hashes as the ledger, no findings on a clean log,
balances as of any instant equal to what the ledger decided at that instant."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ledger import Ledger, Money
from ledger.values import event_hash
from projections.audit.fold import Replay
from projections.audit.replay import replay
from projections.audit.reports import JournalWindow, Summary, balance_rows
from projections.audit.stored import decode, prefetched, rows, state_hash

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 1, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))


def request(app: Ledger, user: str, key: str, cost: int, at: datetime) -> Any:
    return app.request_generation(user_id=user, request_key=key, template_id="poster", template_version=1,
                                  variables={"name": key}, input_image=None, cost=cost, at=at).value


def complete(app: Ledger, gen: Any, at: datetime) -> None:
    app.complete_generation(generation_id=gen, at=at, image_url="file:///x.png", storage_id="x", provider="local",
                            model="m", seed=7, timings={"render": 0.1})


def busy_ledger(app: Ledger) -> list[tuple[datetime, str, int, dict[str, int]]]:
    """Every kind of event on two wallets; returns (instant, user, available, by source) seen along the way."""
    seen: list[tuple[datetime, str, int, dict[str, int]]] = []

    def note(at: datetime, *users: str) -> None:
        for user in users:
            wallet = app.wallet(user)
            assert wallet is not None
            seen.append((at, user, wallet.available(at), wallet.by_source(at)))

    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(999, "USD"), at=T0)
    app.redeem(user_id="bob", redemption_id="w1", amount=40, value=Money(4000, "INR"), at=T0.astimezone(IST))
    app.grant_promo(user_id="ann", reference="launch", amount=20, reason="launch", at=T0,
                    expires_at=T0 + timedelta(days=1))
    app.grant_referral_bonus(referral_id="r1", awards=[{"user_id": "ann", "credits": 10, "role": "referrer"},
                                                       {"user_id": "bob", "credits": 5, "role": "referee"}],
                             at=T0 + timedelta(hours=1), expires_at=T0 + timedelta(days=30))
    note(T0 + timedelta(hours=1), "ann", "bob")
    app.change_settings(user_id="ann", daily_spend_cap=500, at=T0 + timedelta(hours=1))  # spend controls
    app.freeze(user_id="bob", reason="chargeback 4521", at=T0 + timedelta(hours=1))
    app.freeze(user_id="bob", reason="reviewed", frozen=False, at=T0 + timedelta(hours=1))
    complete(app, request(app, "ann", "g1", 25, T0 + timedelta(hours=2)), T0 + timedelta(hours=2, minutes=1))
    gen = request(app, "ann", "g2", 10, T0 + timedelta(hours=3))
    app.fail_generation(generation_id=gen, reason="model down", retryable=True, at=T0 + timedelta(hours=3, minutes=1))
    complete(app, request(app, "bob", "g3", 30, T0 + timedelta(hours=4)), T0 + timedelta(hours=5))  # late, charged
    complete(app, request(app, "bob", "g4", 15, T0 + timedelta(hours=6)), T0 + timedelta(hours=7))  # written off
    note(T0 + timedelta(hours=7), "ann", "bob")
    request(app, "ann", "g5", 5, T0 + timedelta(hours=20))  # left to expire
    app.expire_credits(user_id="ann", at=T0 + timedelta(days=2))
    note(T0 + timedelta(days=2), "ann")
    app.adjust(user_id="ann", reference="fix-1", delta=-3, reason="double credit", at=T0 + timedelta(days=3))
    app.adjust(user_id="bob", reference="fix-2", delta=8, reason="goodwill", at=T0 + timedelta(days=3))
    app.grant_share_bonus(user_id="bob", reference="share-1", amount=2, at=T0 + timedelta(days=3), expires_at=None)
    app.reverse_referral(referral_id="r1", at=T0 + timedelta(days=4))
    app.refund_purchase(payment_id="p1", at=T0 + timedelta(days=5))
    note(T0 + timedelta(days=5), "ann", "bob")
    return seen


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
