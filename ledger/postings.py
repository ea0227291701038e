"""The double-entry journal: the postings of one ledger event, in credits and in money.

Sign convention: a debit is positive, a credit negative; the postings of every event sum to zero
in credits and, per currency, in money. Liabilities (users' credits, deferred revenue) and income
accounts therefore carry negative balances.

Credit accounts:
    ``credits:user:<user>:available`` / ``credits:user:<user>:held``   what each user holds
    ``credits:issued:<source>``       credits issued (purchase, redemption, referral, share, promo, adjustment)
    ``credits:consumed:<source>``     credits spent on generations (captured holds)
    ``credits:expired:<source>``      credits that lapsed unspent (breakage)
    ``credits:clawed_back:<source>``  credits taken back by a refund, reversal or negative adjustment
Money accounts (paid grants only; bonus credits cost nothing and post no money):
    ``money:cash:<source>``           cash received for a purchase or a redemption
    ``money:deferred_revenue``        paid credits outstanding, at unit cost
    ``money:revenue``                 recognised when paid credits are consumed
    ``money:breakage_income``         recognised when paid credits expire unspent
    ``money:refunds_paid``            cash paid back on a refund
    ``money:clawback_income``         deferred revenue of clawed-back credits not paid back

Money leaves deferred revenue cumulatively per grant: after ``out`` of its ``amount`` credits have
left (consumed, expired or clawed back), ``price * out // amount`` has been released, so a grant
whose credits have all left has released exactly its price.

A ``Book`` is the small per-wallet state the postings need; ``postings`` advances it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ledger.wallet import Wallet

# The wallet's events as stored rows name them, read from the ``Wallet`` classes (where a grant source or a
# hold ending is declared, once): each grant event with the source it grants from, and the hold endings.
GRANT_SOURCES = {event.__name__: event.source for event in Wallet.GrantEvent.__subclasses__()}
HOLD_ENDINGS = frozenset(event.__name__ for event in Wallet.HoldResolution.__subclasses__())


class Posting(NamedTuple):
    """One line of a journal entry: credits or money debited (+) or credited (-) to an account."""

    account: str
    credits: int = 0
    money_minor: int = 0
    currency: str = ""
    memo: str = ""


@dataclass(slots=True)
class GrantCost:
    """What the journal remembers of one grant: its source, price and how much has left it."""

    source: str
    amount: int
    price_minor: int = 0
    currency: str = ""
    out: int = 0  # credits that left the grant: consumed, expired or clawed back
    released: int = 0  # money released from deferred revenue so far

    def release(self, n: int) -> int:
        """Money (minor units) that ``n`` more credits leaving this grant release."""
        self.out += n
        if not self.price_minor or self.amount <= 0:
            return 0
        total = self.price_minor * self.out // self.amount
        step, self.released = total - self.released, total
        return step


@dataclass(slots=True)
class Book:
    """The per-wallet state the journal needs: the user and each grant's cost."""

    user_id: str = ""
    grants: dict[str, GrantCost] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, for storing beside a projection."""
        return {"user_id": self.user_id, "grants": {
            k: [g.source, g.amount, g.price_minor, g.currency, g.out, g.released] for k, g in self.grants.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Book:
        """The book ``as_dict`` wrote."""
        return cls(str(data["user_id"]), {k: GrantCost(*v) for k, v in data["grants"].items()})


def money_of(value: Any) -> tuple[int, str] | None:
    """(minor, currency) of a ``Money`` or of its stored dict; None for no money."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return int(value["minor"]), str(value["currency"])
    return int(value.minor), str(value.currency)


def postings(event: Any, book: Book) -> list[Posting]:
    """The postings of a decoded ledger event; advances ``book`` (one book per wallet)."""
    return postings_for(type(event).__name__, vars(event), book)


def postings_for(kind: str, fields: Mapping[str, Any], book: Book) -> list[Posting]:
    """The postings of the event named ``kind`` with these fields; advances ``book``."""
    if kind == "WalletOpened":
        book.user_id = str(fields["user_id"])
        return []
    entry = _Entry(book)
    if kind in GRANT_SOURCES:
        if fields["credits"] > 0:
            entry.grant(kind, fields)
        for grant_id, n in fields.get("taken", {}).items():
            entry.leave(grant_id, n, "available", "clawed_back", "money:clawback_income")
    elif kind == "HoldPlaced":
        total = fields["credits"]
        entry.credits(entry.user + "available", total, fields["hold_id"])
        entry.credits(entry.user + "held", -total, fields["hold_id"])
    elif kind in HOLD_ENDINGS:
        for grant_id, n in fields["consumed"].items():
            entry.leave(grant_id, n, "held", "consumed", "money:revenue")
        for grant_id, n in fields["expired"].items():
            entry.leave(grant_id, n, "held", "expired", "money:breakage_income")
        for grant_id, n in fields["clawed_back"].items():
            entry.leave(grant_id, n, "held", "clawed_back", "money:clawback_income")
        returned = sum(fields["returned"].values())
        if returned:
            entry.credits(entry.user + "held", returned, fields["hold_id"])
            entry.credits(entry.user + "available", -returned, fields["hold_id"])
    elif kind == "CreditsExpired":
        for grant_id, n in fields["expired"].items():
            entry.leave(grant_id, n, "available", "expired", "money:breakage_income")
    elif kind in ("PurchaseRefunded", "ReferralReversed"):
        entry.leave(fields["grant_id"], fields["clawed_back"], "available", "clawed_back",
                    "money:clawback_income", refund=money_of(fields.get("refund")))
    return entry.lines


def imbalance(lines: Iterable[Posting]) -> dict[str, int]:
    """The non-zero sums of ``lines``: key ``credits`` or a currency code; empty when balanced."""
    sums: dict[str, int] = {}
    for p in lines:
        if p.credits:
            sums["credits"] = sums.get("credits", 0) + p.credits
        if p.money_minor:
            sums[p.currency] = sums.get(p.currency, 0) + p.money_minor
    return {k: v for k, v in sums.items() if v}


class _Entry:
    """The postings of one event, built up line by line."""

    __slots__ = ("book", "lines", "user")

    def __init__(self, book: Book) -> None:
        self.book = book
        self.lines: list[Posting] = []
        self.user = f"credits:user:{book.user_id}:"  # the prefix of this user's accounts

    def credits(self, account: str, n: int, memo: str) -> None:
        self.lines.append(Posting(account, n, 0, "", memo))

    def money(self, account: str, minor: int, currency: str, memo: str) -> None:
        if minor:
            self.lines.append(Posting(account, 0, minor, currency, memo))

    def grant(self, kind: str, fields: Mapping[str, Any]) -> None:
        source, grant_id, n = GRANT_SOURCES[kind], str(fields["grant_id"]), fields["credits"]
        price = money_of(fields.get("price"))
        minor, currency = price or (0, "")
        self.book.grants[grant_id] = GrantCost(source, n, minor, currency)
        self.credits(f"credits:issued:{source}", n, grant_id)
        self.credits(self.user + "available", -n, grant_id)
        self.money(f"money:cash:{source}", minor, currency, grant_id)
        self.money("money:deferred_revenue", -minor, currency, grant_id)

    def leave(self, grant_id: str, n: int, bucket: str, sink: str, income: str,
              refund: tuple[int, str] | None = None) -> None:
        """``n`` credits of a grant leave the user's ``bucket`` for ``sink``; their money is released."""
        if not n:
            return
        grant = self.book.grants.get(grant_id) or GrantCost("unknown", 0)
        lines = self.lines
        lines.append(Posting(self.user + bucket, n, 0, "", grant_id))
        lines.append(Posting(f"credits:{sink}:{grant.source}", -n, 0, "", grant_id))
        if not grant.price_minor and refund is None:
            grant.out += n  # bonus credits: no money moves
            return
        released = grant.release(n)
        paid = refund[0] if refund else 0
        currency = grant.currency or (refund[1] if refund else "")
        self.money("money:deferred_revenue", released, currency, grant_id)
        self.money("money:refunds_paid", -paid, currency, grant_id)
        self.money(income, paid - released, currency, grant_id)
