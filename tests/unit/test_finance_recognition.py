"""Revenue recognised on capture: each capture's paid credits release their lot's price, to the minor
unit, and name the generation they paid for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction

import pytest

from ledger import Ledger, Money
from projections.audit.stored import rows
from projections.finance.recognition import FREE, Recognised, price_per_credit, recognise, released
from tests.support.ledgers import T0, complete, request

pytestmark = pytest.mark.unit


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def stored(app: Ledger) -> list[Recognised]:
    return list(recognise(row for page in rows(app) for row in page))


def test_a_lot_releases_its_whole_price_and_no_more_however_its_credits_leave() -> None:
    assert price_per_credit(100, 3) == Fraction(100, 3)
    assert [released(100, 3, k) for k in range(4)] == [0, 33, 66, 100]
    with pytest.raises(ValueError, match="cannot have left"):
        released(100, 3, 4)
    with pytest.raises(ValueError, match="positive number"):
        price_per_credit(100, 0)


def test_a_capture_recognises_its_paid_credits_at_their_lots_price_and_its_free_ones_at_zero(app: Ledger) -> None:
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=3, price=Money(100, "INR"), at=T0)
    app.grant_promo(user_id="ann", reference="launch", amount=2, reason="launch", at=T0, expires_at=None)
    first = request(app, "ann", "g1", 4, T0 + timedelta(minutes=1))  # burns the 2 free credits first
    complete(app, first, T0 + timedelta(minutes=2))
    second = request(app, "ann", "g2", 1, T0 + timedelta(minutes=3))
    complete(app, second, T0 + timedelta(minutes=4))
    found = stored(app)
    assert [(r.generation_id, r.currency, r.minor, r.credits) for r in found] == [
        (str(first), "INR", 66, 2), (str(first), FREE, 0, 2), (str(second), "INR", 34, 1)]
    assert sum(r.minor for r in found) == 100  # the whole price, no paisa lost
    assert {r.user_id for r in found} == {"ann"}
    assert found[0].at == found[1].at == T0 + timedelta(minutes=2)
    assert found[0].position == found[1].position < found[2].position


def test_a_plain_hold_names_no_generation_and_a_released_one_recognises_nothing(app: Ledger) -> None:
    app.redeem(user_id="bob", redemption_id="w1", amount=10, value=Money(1000, "USD"), at=T0)
    app.place_hold(user_id="bob", hold_id="h1", amount=4, at=T0)
    app.place_hold(user_id="bob", hold_id="h2", amount=3, at=T0)
    app.release(user_id="bob", hold_id="h2", at=T0 + timedelta(minutes=1))
    app.capture(user_id="bob", hold_id="h1", amount=2, at=T0 + timedelta(minutes=1))
    assert [(r.generation_id, r.currency, r.minor, r.credits) for r in stored(app)] == [(None, "USD", 200, 2)]


def test_a_failed_generation_recognises_nothing(app: Ledger) -> None:
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=10, price=Money(500, "INR"), at=T0)
    gen = request(app, "ann", "g1", 5, T0)
    app.fail_generation(generation_id=gen, reason="model down", retryable=True, at=T0 + timedelta(minutes=1))
    assert stored(app) == []
