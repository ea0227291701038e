"""The double-entry journal: every event balances, money follows credits at unit cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledger import Ledger, Money
from ledger.postings import GRANT_SOURCES, HOLD_ENDINGS, Book, Posting, imbalance, postings, postings_for

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def journal(app: Ledger) -> list[list[Posting]]:
    """The postings of every stored event, one list per event, in log order."""
    books: dict[object, Book] = {}
    entries = []
    for n in app.recorder.select_notifications(start=0, limit=10_000):
        event = app.mapper.to_domain_event(n)
        entries.append(postings(event, books.setdefault(event.originator_id, Book())))
    return entries


def balances(entries: list[list[Posting]]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for entry in entries:
        for p in entry:
            totals[p.account] += p.credits or p.money_minor
    return totals


def spend(app: Ledger, user: str, key: str, cost: int, at: datetime) -> None:
    gen = app.request_generation(user_id=user, request_key=key, template_id="t", template_version=1,
                                 variables={}, input_image=None, cost=cost, at=at).value
    app.complete_generation(generation_id=gen, at=at + timedelta(seconds=5), image_url="u", storage_id="s",
                            provider="local", model="m", seed=1, timings={})


def test_every_event_of_a_busy_wallet_balances_in_credits_and_money(app: Ledger) -> None:
    app.purchase(user_id="ann", payment_id="p1", pack_id="s", amount=100, price=Money(999, "USD"), at=T0)
    app.grant_promo(user_id="ann", reference="promo", amount=20, reason="launch", at=T0,
                    expires_at=T0 + timedelta(days=1))
    app.grant_referral_bonus(referral_id="r1", awards=[{"user_id": "ann", "credits": 7, "role": "referrer"},
                                                       {"user_id": "bob", "credits": 3, "role": "referee"}],
                             at=T0, expires_at=None)
    spend(app, "ann", "g1", 30, T0 + timedelta(hours=1))
    gen = app.request_generation(user_id="ann", request_key="g2", template_id="t", template_version=1,
                                 variables={}, input_image=None, cost=10, at=T0 + timedelta(hours=2)).value
    app.fail_generation(generation_id=gen, reason="boom", retryable=False, at=T0 + timedelta(hours=2, seconds=9))
    app.expire_credits(user_id="ann", at=T0 + timedelta(days=2))
    app.adjust(user_id="ann", reference="adj", delta=-5, reason="duplicate credit", at=T0 + timedelta(days=2))
    app.reverse_referral(referral_id="r1", at=T0 + timedelta(days=3))
    app.refund_purchase(payment_id="p1", at=T0 + timedelta(days=4))
    entries = journal(app)
    assert all(imbalance(entry) == {} for entry in entries)
    totals = balances(entries)
    assert totals["money:cash:purchase"] == 999
    assert totals["credits:user:ann:available"] == 0
    assert totals["credits:user:ann:held"] == 0
    assert totals["money:deferred_revenue"] == 0
    # 30 spent: 20 promo, 7 referral, 3 paid; 5 paid adjusted away; 92 paid credits refunded.
    assert totals["money:refunds_paid"] == -(999 * 92 // 100)
    assert totals["money:revenue"] == -(999 * 3 // 100)


def test_a_fully_consumed_grant_recognises_exactly_its_price(app: Ledger) -> None:
    app.purchase(user_id="cy", payment_id="p", pack_id="s", amount=3, price=Money(1000, "EUR"), at=T0)
    revenue = []
    for i in range(3):
        spend(app, "cy", f"g{i}", 1, T0 + timedelta(minutes=i))
        revenue.append(-balances(journal(app))["money:revenue"])
    assert revenue == [333, 666, 1000]
    assert balances(journal(app))["money:deferred_revenue"] == 0


def test_deferred_revenue_is_the_outstanding_paid_credits_at_unit_cost(app: Ledger) -> None:
    app.purchase(user_id="di", payment_id="p", pack_id="s", amount=10, price=Money(500, "USD"), at=T0)
    app.grant_share_bonus(user_id="di", reference="share", amount=2, at=T0, expires_at=None)
    spend(app, "di", "g", 6, T0 + timedelta(minutes=1))  # 2 free credits, then 4 paid ones
    totals = balances(journal(app))
    assert -totals["money:deferred_revenue"] == 300
    assert -totals["money:revenue"] == 200
    assert totals["credits:consumed:share"] == -2
    assert totals["credits:consumed:purchase"] == -4


def test_a_refund_pays_back_the_unspent_credits_and_releases_the_rest(app: Ledger) -> None:
    app.purchase(user_id="ed", payment_id="p", pack_id="s", amount=3, price=Money(100, "USD"), at=T0)
    spend(app, "ed", "g", 1, T0 + timedelta(minutes=1))
    app.refund_purchase(payment_id="p", at=T0 + timedelta(minutes=2))
    totals = balances(journal(app))
    assert totals["money:revenue"] == -33
    assert totals["money:refunds_paid"] == -66
    assert totals["money:clawback_income"] == -1
    assert totals["money:deferred_revenue"] == 0
    assert totals["credits:clawed_back:purchase"] == -2


def test_bonus_credits_post_no_money(app: Ledger) -> None:
    app.grant_promo(user_id="fi", reference="x", amount=5, reason="r", at=T0, expires_at=None)
    spend(app, "fi", "g", 5, T0 + timedelta(minutes=1))
    assert all(p.money_minor == 0 for entry in journal(app) for p in entry)


def test_stored_json_fields_post_the_same_as_decoded_events(app: Ledger) -> None:
    app.purchase(user_id="gu", payment_id="p", pack_id="s", amount=4, price=Money(90, "INR"), at=T0)
    app.refund_purchase(payment_id="p", at=T0 + timedelta(minutes=1))
    book = Book(user_id="gu")
    raw = [postings_for("CreditsPurchased", {"grant_id": "g", "credits": 4, "price": {"minor": 90, "currency": "INR"}},
                        book),
           postings_for("PurchaseRefunded", {"grant_id": "g", "clawed_back": 4, "refund": {"minor": 90,
                                                                                          "currency": "INR"}}, book)]
    decoded = [e for e in journal(app) if e]
    strip = [[(p.account, p.credits, p.money_minor, p.currency) for p in e] for e in decoded]
    assert [[(p.account, p.credits, p.money_minor, p.currency) for p in e] for e in raw] == strip


def test_a_book_survives_a_round_trip_through_a_dict(app: Ledger) -> None:
    book = Book(user_id="ha")
    postings_for("CreditsPurchased", {"grant_id": "g", "credits": 3, "price": Money(10, "USD")}, book)
    postings_for("HoldCaptured", {"hold_id": "h", "consumed": {"g": 1}, "returned": {}, "expired": {},
                                  "clawed_back": {}}, book)
    assert Book.from_dict(book.as_dict()) == book


def test_an_unbalanced_set_of_lines_is_reported_by_unit() -> None:
    lines = [Posting("a", credits=2), Posting("b", credits=-1), Posting("c", money_minor=5, currency="USD")]
    assert imbalance(lines) == {"credits": 1, "USD": 5}


def test_the_journal_reads_every_grant_source_and_hold_ending_the_wallet_declares() -> None:
    # Stored rows name their events: these names and sources are the public contract (DESIGN.md).
    assert GRANT_SOURCES == {
        "CreditsPurchased": "purchase", "CreditsRedeemed": "redemption", "ReferralBonusGranted": "referral",
        "ShareBonusGranted": "share", "PromoCreditsGranted": "promo", "CreditsAdjusted": "adjustment"}
    assert sorted(HOLD_ENDINGS) == ["HoldCaptured", "HoldExpired", "HoldReleased"]
