"""`wallet_statement`: one line per wallet event, with the change, the running balance and a description
in words ("Webinar poster: Intro to SQL", "Referral bonus for inviting bob")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Index,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    func,
    select,
    update,
)

from ledger.erasure import Erasure
from ledger.event_store.follow import Stored
from ledger.generation import Generation
from ledger.wallet import Wallet
from projections.base import Write
from projections.db import UTCDateTime, metadata
from projections.descriptions import Subjects, describe, generation_of
from projections.template_words import version_words, words_table

wallet_statement = Table(
    "wallet_statement",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("wallet_id", Uuid, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("type", String(40), nullable=False),
    Column("change", BigInteger, nullable=False),
    Column("held_change", BigInteger, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("reference", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("details", JSON, nullable=False),
    Index("ix_wallet_statement_user_position", "user_id", "position"),
    Index("ix_wallet_statement_wallet_position", "wallet_id", "position"),
)

# What each generation was, in words, for the lines of its hold (written when it is requested).
statement_subjects = Table(
    "wallet_statement_subjects",
    metadata,
    Column("generation_id", String(100), primary_key=True),
    Column("subject", Text, nullable=False),
)

# The words of every published template version, as this projection saw them published.
statement_words = words_table("wallet_statement_template_words")


def changes(event: Any) -> tuple[int, int, str, dict[str, Any]]:
    """What one wallet event does to the balance and to held credits, its reference, and its details."""
    if isinstance(event, Wallet.CreditsAdjusted):
        change = event.credits if event.credits > 0 else -sum(event.taken.values())
        return change, 0, event.reference, {"reason": event.reason, "grant_id": event.grant_id}
    if isinstance(event, Wallet.GrantEvent):
        details: dict[str, Any] = {"grant_id": event.grant_id, "source": event.source,
                                   "expires_at": event.expires_at.isoformat() if event.expires_at else None}
        if event.price is not None:
            details["price"] = {"minor": event.price.minor, "currency": event.price.currency}
        return event.credits, 0, event.reference, details
    if isinstance(event, Wallet.HoldPlaced):
        return -event.credits, event.credits, event.hold_id, {"expires_at": event.expires_at.isoformat(),
                                                              "meta": event.meta}
    if isinstance(event, Wallet.HoldResolution):
        parts = {k: sum(v.values()) for k, v in (("consumed", event.consumed), ("returned", event.returned),
                                                 ("expired", event.expired), ("clawed_back", event.clawed_back))}
        return parts["returned"], -sum(parts.values()), event.hold_id, parts
    if isinstance(event, Wallet.CreditsExpired):
        return -sum(event.expired.values()), 0, "", {"grants": dict(event.expired)}
    if isinstance(event, Wallet.GrantClosed):
        return -event.clawed_back, 0, event.reference, {"grant_id": event.grant_id, "spent": event.spent,
                                                        "held": event.held}
    if isinstance(event, Wallet.Freezing):
        return 0, 0, "", {"reason": event.reason, "frozen": event.freezes}
    if isinstance(event, Wallet.SettingsChanged):
        return 0, 0, "", {"daily_spend_cap": event.daily_spend_cap}
    return 0, 0, "", {}


class WalletStatement:
    """Appends a statement line for every wallet event, carrying the wallet's balance after it and what
    the line is in words (a generation's template title and main text, who a referral bonus was for)."""

    name = "wallet_statement"
    tables = (wallet_statement, statement_subjects, statement_words)

    def __init__(self, subjects: Subjects | None = None) -> None:
        self.subjects = subjects or Subjects()

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """A line for each of the page's wallet events; other events are ignored."""
        writes, words = version_words(conn, statement_words, page)
        requested = {str(e.originator_id): self.subjects.of(e.template_id, e.variables,
                                                             words.get((e.template_id, e.template_version)))
                     for s in page if isinstance(e := s.event, Generation.GenerationRequested)}
        events = [s for s in page if isinstance(s.event, Wallet.Event | Wallet.WalletOpened)]
        deleted = [str(s.event.originator_id) for s in page if isinstance(s.event, Generation.GenerationImageDeleted)]
        erased = [s.event.user_id for s in page if isinstance(s.event, Erasure.LearnerErased)]
        if requested:
            writes.append((statement_subjects.insert(),
                           [{"generation_id": k, "subject": v} for k, v in requested.items()]))
        forgotten = self._erased_generations(conn, erased)
        deleted = [g for g in deleted if g not in forgotten]  # erased in the same page: "erased" says it all
        erasing = self._deleted(conn, sorted(forgotten), requested, word="erased")
        if not events:
            return [*writes, *self._deleted(conn, deleted, requested), *erasing]
        state = _last_lines(conn, {s.event.originator_id for s in events})
        users = {wallet: line[0] for wallet, line in state.items()}
        users.update({s.event.originator_id: s.event.user_id for s in events
                      if isinstance(s.event, Wallet.WalletOpened)})
        subjects = {**_known_subjects(conn, {g for s in events if (g := generation_of(s.event))} - set(requested)),
                    **requested}
        referrals = _referral_users(events, users)
        lines = []
        for stored in events:
            event = stored.event
            if isinstance(event, Wallet.WalletOpened):
                state[event.originator_id] = (event.user_id, 0, 0)
            user_id, balance, held = state.get(event.originator_id, ("", 0, 0))
            change, held_change, reference, details = changes(event)
            state[event.originator_id] = (user_id, balance + change, held + held_change)
            lines.append({"position": stored.position, "wallet_id": event.originator_id, "user_id": user_id,
                          "occurred_at": event.timestamp, "type": stored.type, "change": change,
                          "held_change": held_change, "balance": balance + change, "held": held + held_change,
                          "reference": reference, "description": describe(event, subjects, referrals),
                          "details": details})
        return [*writes, (wallet_statement.insert(), lines), *self._deleted(conn, deleted, requested),
                *erasing]

    def _erased_generations(self, conn: Connection, users: list[str]) -> set[str]:
        """The generations on the statement lines of erased learners: their lines say "erased" where the words
        were (the credits stay)."""
        if not users:
            return set()
        ids = conn.execute(select(wallet_statement.c.reference).distinct().where(
            wallet_statement.c.user_id.in_(users)
            & wallet_statement.c.reference.in_(select(statement_subjects.c.generation_id)))).scalars().all()
        return {str(i) for i in ids}

    def _deleted(self, conn: Connection, generation_ids: list[str], requested: Mapping[str, str], *,
                 word: str = "image deleted") -> list[Write]:
        """The lines of deleted images say "image deleted" (an erased learner's: "erased") where the learner's
        words were; the credits stay."""
        writes: list[Write] = []
        known = {**_known_subjects(conn, set(generation_ids) - set(requested)), **requested}
        for generation_id in generation_ids:
            old = known.get(generation_id)
            if old is None:
                continue
            new = f"{self.subjects.title_in(old)}: {word}"
            writes.append((update(statement_subjects).where(statement_subjects.c.generation_id == generation_id)
                           .values(subject=new), {}))
            about = (generation_id, f"{generation_id}:late", f"share:{generation_id}")
            writes.append((update(wallet_statement).where(wallet_statement.c.reference.in_(about))
                           .values(description=func.replace(wallet_statement.c.description, old, new)), {}))
        return writes


def _known_subjects(conn: Connection, generation_ids: set[str]) -> dict[str, str]:
    """The subjects recorded for generations requested on earlier pages."""
    if not generation_ids:
        return {}
    rows = conn.execute(select(statement_subjects.c.generation_id, statement_subjects.c.subject)
                        .where(statement_subjects.c.generation_id.in_(sorted(generation_ids))))
    return {r.generation_id: r.subject for r in rows}


def _referral_users(events: Sequence[Stored], users: Mapping[UUID, str]) -> dict[str, dict[str, str]]:
    """For each referral granted in this page: the user of each role (referrer, referee)."""
    found: dict[str, dict[str, str]] = {}
    for stored in events:
        event = stored.event
        if isinstance(event, Wallet.ReferralBonusGranted) and event.originator_id in users:
            found.setdefault(event.reference, {})[event.role] = users[event.originator_id]
    return found


def _last_lines(conn: Connection, wallets: set[UUID]) -> dict[UUID, tuple[str, int, int]]:
    """The user, balance and held credits of each wallet's latest statement line."""
    rows = conn.execute(LAST_LINES, {"wallets": list(wallets)})
    return {r.wallet_id: (r.user_id, r.balance, r.held) for r in rows}


_latest = (select(wallet_statement.c.wallet_id, func.max(wallet_statement.c.position).label("position"))
           .where(wallet_statement.c.wallet_id.in_(bindparam("wallets", expanding=True)))
           .group_by(wallet_statement.c.wallet_id).subquery())
LAST_LINES = (select(wallet_statement.c.wallet_id, wallet_statement.c.user_id, wallet_statement.c.balance,
                     wallet_statement.c.held)
              .join(_latest, (wallet_statement.c.wallet_id == _latest.c.wallet_id)
                    & (wallet_statement.c.position == _latest.c.position)))
