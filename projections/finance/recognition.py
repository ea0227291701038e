"""Revenue recognised on capture: for every captured hold, the money its paid credits release and the
generation they paid for.

How a lot's price is spread over its credits (the journal's rule, ``ledger.postings.GrantCost``): after
``k`` of a lot's ``N`` credits have left it (consumed, expired or clawed back, in whatever order), exactly
``P * k // N`` minor units of its price ``P`` have been released from deferred revenue. The ``k``-th credit
out therefore carries ``P * k // N - P * (k - 1) // N``: within one minor unit of the exact price per credit
``P / N`` (``price_per_credit``), never a fraction of a paisa, and a lot whose credits have all left has
released exactly ``P``. Remainders are carried in the lot, never rounded away.

The API other reports build on (stable):

- ``recognise(rows)``: the stored rows of the event store in ledger order (``projections.audit.stored.rows``
  pages, flattened, or any ``Row`` iterable; other aggregates' rows are skipped) -> ``Recognised`` items,
  one per capture and currency of the lots it consumed (sorted by currency), in ledger order.
- ``Recogniser``: the same step by step, for a fold that already keeps each wallet's ``Book`` and postings
  (the audit's ``Replay`` with ``on_entry``).
- ``price_per_credit(price_minor, credits)`` and ``released(price_minor, credits, out)``: a lot's price rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any, NamedTuple

from ledger.postings import HOLD_ENDINGS, Book, Posting, postings_for
from projections.audit.stored import Row, decode

WALLET_TOPIC = "ledger.wallet:Wallet."
FREE = "free"  # the "currency" of credits that cost the learner nothing (referral, share, promo, adjustment)


class Recognised(NamedTuple):
    """What one capture recognised from the lots of one currency (``FREE``: bonus lots, at zero revenue).

    ``generation_id`` is the generation the captured hold paid for (a late charge's too), None for a hold
    placed for anything else; ``minor`` the revenue in minor units of ``currency``; ``credits`` the credits
    consumed from those lots."""

    position: int
    at: datetime
    user_id: str
    generation_id: str | None
    currency: str
    minor: int
    credits: int


def price_per_credit(price_minor: int, credits: int) -> Fraction:
    """A lot's exact price per credit, in minor units: the price over the credits it granted."""
    if credits <= 0:
        raise ValueError(f"a lot grants a positive number of credits, got {credits}")
    return Fraction(price_minor, credits)


def released(price_minor: int, credits: int, out: int) -> int:
    """Minor units of a lot's price released once ``out`` of its ``credits`` have left it (floor of the
    exact share; all of it once all have left)."""
    if not 0 <= out <= credits:
        raise ValueError(f"{out} credits cannot have left a lot of {credits}")
    return price_minor * out // credits


class Recogniser:
    """Follows a log's wallet events and tells, for each capture, the revenue it recognised.

    It remembers only which generation each pending hold pays for (from the hold's ``meta``)."""

    def __init__(self) -> None:
        self._paying: dict[tuple[str, str], str] = {}  # (wallet id, hold id) -> generation id, while pending

    def entry(self, row: Row, fields: Mapping[str, Any], lines: Iterable[Posting], book: Book) -> list[Recognised]:
        """What the wallet event ``row`` (decoded ``fields``, its journal ``lines``, the wallet's ``book``
        after them) recognised: nothing unless it is a capture."""
        kind = row.kind
        key = (row.originator_id, str(fields.get("hold_id", "")))
        if kind == "HoldPlaced":
            paying = (fields.get("meta") or {}).get("generation_id")
            if paying:
                self._paying[key] = str(paying)
            return []
        if kind not in HOLD_ENDINGS:
            return []
        generation = self._paying.pop(key, None)
        if kind != "HoldCaptured" or not fields["consumed"]:
            return []
        money: dict[str, int] = {}
        for p in lines:
            if p.account == "money:revenue":
                money[p.currency] = money.get(p.currency, 0) - p.money_minor
        counted: dict[str, int] = {}
        for grant_id, n in fields["consumed"].items():
            lot = book.grants.get(grant_id)
            currency = lot.currency if lot is not None and lot.price_minor else FREE
            counted[currency] = counted.get(currency, 0) + n
        at = datetime.fromisoformat(fields["timestamp"])
        return [Recognised(row.position, at, book.user_id, generation, currency, money.get(currency, 0), n)
                for currency, n in sorted(counted.items())]


def recognise(rows: Iterable[Row]) -> Iterator[Recognised]:
    """The revenue each capture in ``rows`` (stored events in ledger order) recognised, in that order."""
    books: dict[str, Book] = {}
    recogniser = Recogniser()
    for row in rows:
        if not row.topic.startswith(WALLET_TOPIC):
            continue
        fields = decode(row.state)
        book = books.get(row.originator_id)
        if book is None:
            book = books[row.originator_id] = Book()
        lines = postings_for(row.kind, fields, book)
        yield from recogniser.entry(row, fields, lines, book)
