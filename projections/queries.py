"""Reads over the projection tables, for the API and the auditor: never the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select

from projections.balances import wallet_available, wallet_balances, wallet_grants
from projections.db import tracking
from projections.generations import gallery, generations
from projections.reports import standings
from projections.statement import wallet_statement


def wallet(conn: Connection, user_id: str, at: datetime) -> dict[str, Any] | None:
    """The user's wallet row with the credits available at ``at``, by source, and its next expiry; None
    without a wallet."""
    return wallet_available(conn, user_id, at)


def grants(conn: Connection, wallet_id: UUID) -> list[RowMapping]:
    """The wallet's grants, oldest first."""
    query = select(wallet_grants).where(wallet_grants.c.wallet_id == wallet_id).order_by(wallet_grants.c.version)
    return list(conn.execute(query).mappings())


def statement(conn: Connection, user_id: str, *, before: int | None, limit: int) -> list[RowMapping]:
    """The user's statement lines, newest first, strictly before position ``before`` when given."""
    query = select(wallet_statement).where(wallet_statement.c.user_id == user_id)
    if before is not None:
        query = query.where(wallet_statement.c.position < before)
    return list(conn.execute(query.order_by(wallet_statement.c.position.desc()).limit(limit)).mappings())


def users_generations(conn: Connection, user_id: str, ids: list[UUID]) -> dict[UUID, RowMapping]:
    """The template and variables of those of ``ids`` that are ``user_id``'s generations (statement lines
    name them)."""
    if not ids:
        return {}
    query = select(generations.c.generation_id, generations.c.template_id, generations.c.template_version,
                   generations.c.variables, generations.c.status, generations.c.image_url).where(
        (generations.c.user_id == user_id) & generations.c.generation_id.in_(ids))
    return {row["generation_id"]: row for row in conn.execute(query).mappings()}


def all_generations(conn: Connection, user_id: str) -> list[RowMapping]:
    """Every generation of ``user_id``, oldest first (a learner's export)."""
    query = select(generations).where(generations.c.user_id == user_id).order_by(generations.c.position)
    return list(conn.execute(query).mappings())


def generation(conn: Connection, generation_id: UUID) -> RowMapping | None:
    """One generation's row, or None."""
    return conn.execute(select(generations).where(generations.c.generation_id == generation_id)).mappings().first()


def user_gallery(conn: Connection, user_id: str, *, before: int | None, limit: int) -> list[RowMapping]:
    """The user's finished images, newest first, strictly before position ``before`` when given."""
    query = select(gallery).where((gallery.c.user_id == user_id) & gallery.c.visible.is_(True))
    if before is not None:
        query = query.where(gallery.c.position < before)
    return list(conn.execute(query.order_by(gallery.c.position.desc()).limit(limit)).mappings())


def shared_image(conn: Connection, token: str) -> RowMapping | None:
    """The finished image shared under ``token``, or None (also while its owner has lost sharing to takedowns:
    every link of theirs stops working until an operator restores it)."""
    suspended = select(standings.c.user_id).where(standings.c.suspended.is_(True))
    return conn.execute(select(gallery).where((gallery.c.share_token == token) & gallery.c.visible.is_(True)
                                              & gallery.c.user_id.not_in(suspended))).mappings().first()


def generations_by_status(conn: Connection) -> dict[str, int]:
    """How many generations are in each status."""
    rows = conn.execute(select(generations.c.status, func.count()).group_by(generations.c.status))
    return {status: int(n) for status, n in rows}


def failures_by_reason(conn: Connection) -> dict[str, int]:
    """How many generations failed, by reason (``timeout``, ``content_policy``, ...)."""
    rows = conn.execute(select(generations.c.reason, func.count()).where(generations.c.status == "failed")
                        .group_by(generations.c.reason))
    return {reason or "unknown": int(n) for reason, n in rows}


def unfinished_since(conn: Connection, before: datetime) -> int:
    """How many generations requested before ``before`` are still neither completed nor failed."""
    return int(conn.execute(select(func.count()).select_from(generations).where(
        generations.c.status.in_(("requested", "started")), generations.c.requested_at < before)).scalar_one())


def pending_holds(conn: Connection) -> int:
    """Credits held across all wallets."""
    return int(conn.execute(select(func.coalesce(func.sum(wallet_balances.c.held), 0))).scalar_one())


def tracked_positions(conn: Connection) -> dict[str, int]:
    """The position each projection has reached, as committed."""
    return {name: int(pos) for name, pos in conn.execute(select(tracking.c.name, tracking.c.position))}
