"""Comparing the read tables with the replay, each at the position its projection has reached.

A row whose own position is past the checkpoint was updated after the projection's tracking
position was read; it is skipped, not compared.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, func, inspect, select

from ledger.values import PAID_SOURCES
from projections.audit.fold import Replay
from projections.audit.replay import Check
from projections.audit.state import WalletState
from projections.balances import wallet_balances, wallet_grants
from projections.db import tracking
from projections.failures import failures, projection_failures
from projections.generations import generations
from projections.journal import journal
from projections.statement import wallet_statement
from projections.templates import templates


def wallet_figures(w: WalletState) -> dict[str, int]:
    """The replay's figures for one ``wallet_balances`` row."""
    paid = sum(g.amount for g in w.grants.values() if g.source in PAID_SOURCES)
    return {"balance": w.remaining, "held": w.held, "purchased": paid, "granted": w.granted - paid,
            "spent": w.consumed, "expired": w.expired, "clawed_back": w.clawed_back}


class ProjectionDiff:
    """Checkpoints that compare ``wallet_balances``, ``wallet_grants``, ``wallet_statement``, ``generations``,
    ``journal`` and ``templates`` with the replay."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.compared: dict[str, int] = {}

    def prepare(self, folded: Replay) -> list[tuple[int, Check]]:
        """Read how far each projection got; a check for each one that exists."""
        tables = set(inspect(self.engine).get_table_names())
        if tracking.name not in tables:
            return []
        with self.engine.connect() as conn:
            reached = {str(n): int(p) for n, p in conn.execute(select(tracking.c.name, tracking.c.position))}
            set_aside = failures(conn) if projection_failures.name in tables else []
        for found in set_aside:  # the cause of the differences the comparison will show, named first
            folded.find("", (found.position, found.event_type),
                        f"projection {found.projection} set this event aside (aggregate {found.aggregate_id}): "
                        f"{found.reason}")
        checks: list[tuple[int, Check]] = []
        if "wallet_balances" in reached:
            checks.append((reached["wallet_balances"], self._wallets))
        if "wallet_statement" in reached:
            checks.append((reached["wallet_statement"], self._statement))
        if "generations" in reached:
            folded.outcomes = {}
            checks.append((reached["generations"], self._generations))
        if "journal" in reached:
            folded.accounts = {}
            checks.append((reached["journal"], self._journal))
        if "templates" in reached and templates.name in tables:
            checks.append((reached["templates"], self._templates))
        return checks

    def _templates(self, folded: Replay) -> None:
        by_name = {t.template_id: t for t in folded.templates.values()}
        query = select(templates.c.template_id, templates.c.status, templates.c.latest_version,
                       templates.c.position).where(templates.c.position <= folded.position)
        count = 0
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                count += 1
                state = by_name.pop(row.template_id, None)
                expected = (str(state.status), state.published) if state else None
                stored = (row.status, int(row.latest_version))
                if expected != stored:
                    folded.find("", (row.position, "templates"), f"template {row.template_id}: read table has "
                                f"status/latest version {stored}, replay {expected or 'no such template'}")
        for name, state in by_name.items():
            if state.last_position <= folded.position:
                folded.find("", (state.last_position, state.last_kind), f"template {name} missing from templates")
        self.compared["templates"] = count

    def _wallets(self, folded: Replay) -> None:
        at = folded.position
        by_id = folded.wallets
        columns = [wallet_balances.c[k] for k in ("wallet_id", "user_id", "position", "balance", "held", "purchased",
                                                  "granted", "spent", "expired", "clawed_back")]
        count = 0
        with self.engine.connect() as conn:
            for row in conn.execute(select(*columns).where(wallet_balances.c.position <= at)):
                count += 1
                wallet = by_id.get(str(row.wallet_id))
                if wallet is None:
                    folded.find(row.user_id, (row.position, "wallet_balances"), "row of a wallet the log never opened")
                    continue
                stored = {k: int(getattr(row, k)) for k in wallet_figures(wallet)}
                self._differs(folded, wallet, row.position, "wallet_balances", stored, wallet_figures(wallet))
            seen = {str(w) for w, in conn.execute(select(wallet_balances.c.wallet_id))}
            grants = select(wallet_grants.c.wallet_id, wallet_grants.c.grant_id, wallet_grants.c.remaining,
                            wallet_grants.c.closed).join(
                wallet_balances, wallet_balances.c.wallet_id == wallet_grants.c.wallet_id).where(
                wallet_balances.c.position <= at)
            for row in conn.execute(grants):
                wallet = by_id.get(str(row.wallet_id))
                grant = wallet.grants.get(row.grant_id) if wallet else None
                if wallet is None or grant is None:
                    continue
                name = f"grant {row.grant_id}"
                self._differs(folded, wallet, wallet.last_position, "wallet_grants",
                              {f"{name} remaining": int(row.remaining), f"{name} closed": row.closed or ""},
                              {f"{name} remaining": grant.remaining, f"{name} closed": grant.closed})
        for wallet_id, wallet in by_id.items():
            if wallet_id not in seen and wallet.user_id:
                folded.find(wallet.user_id, (wallet.last_position, wallet.last_kind),
                            "wallet missing from wallet_balances", wallet_id)
        self.compared["wallet_balances"] = count

    def _statement(self, folded: Replay) -> None:
        s = wallet_statement.c
        latest = (select(s.wallet_id, func.max(s.position).label("last"), func.count().label("lines"))
                  .where(s.position <= folded.position).group_by(s.wallet_id).subquery())
        query = select(s.wallet_id, s.position, s.balance, s.held, latest.c.lines).join(
            latest, and_(s.wallet_id == latest.c.wallet_id, s.position == latest.c.last))
        count = 0
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                count += 1
                wallet = folded.wallets.get(str(row.wallet_id))
                if wallet is None:
                    folded.find("", (row.position, "wallet_statement"), f"lines of a wallet the log never opened: "
                                f"{row.wallet_id}")
                    continue
                self._differs(folded, wallet, row.position, "wallet_statement",
                              {"lines": int(row.lines), "balance": int(row.balance), "held": int(row.held)},
                              {"lines": wallet.version, "balance": wallet.remaining, "held": wallet.held})
        self.compared["wallet_statement"] = count

    def _generations(self, folded: Replay) -> None:
        outcomes = folded.outcomes or {}
        count = 0
        query = select(generations.c.generation_id, generations.c.user_id, generations.c.status,
                       generations.c.captured, generations.c.position).where(generations.c.position <= folded.position)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                count += 1
                expected = outcomes.get(str(row.generation_id))
                stored = (row.status, int(row.captured))
                if expected is None:
                    folded.find(row.user_id, (row.position, "generations"),
                                f"generation {row.generation_id} is in the read table but not in the log")
                elif stored != expected:
                    folded.find(row.user_id, (row.position, "generations"),
                                f"generation {row.generation_id}: read table has status/captured {stored}, "
                                f"replay {expected}")
        self.compared["generations"] = count

    def _journal(self, folded: Replay) -> None:
        totals = folded.accounts or {}
        query = select(journal.c.account, journal.c.currency, func.sum(journal.c.credits),
                       func.sum(journal.c.money_minor), func.count()).where(
            journal.c.position <= folded.position).group_by(journal.c.account, journal.c.currency)
        stored: dict[tuple[str, str], tuple[int, int]] = {}
        lines = 0
        with self.engine.connect() as conn:
            for account, currency, n, minor, count in conn.execute(query):
                stored[(account, currency)] = (int(n), int(minor))
                lines += int(count)
        expected = {k: (v[0], v[1]) for k, v in totals.items() if v[0] or v[1]}
        stored = {k: v for k, v in stored.items() if v[0] or v[1]}
        for key in sorted(set(stored) | set(expected)):
            if stored.get(key, (0, 0)) != expected.get(key, (0, 0)):
                folded.find("", (folded.position, "journal"), f"account {key[0]} {key[1] or 'credits'}: read table "
                            f"has {stored.get(key, (0, 0))}, replay {expected.get(key, (0, 0))}")
        self.compared["journal_lines"] = lines

    @staticmethod
    def _differs(folded: Replay, wallet: WalletState, position: int, table: str,
                 stored: dict[str, Any], expected: dict[str, Any]) -> None:
        off = {k: (stored[k], expected[k]) for k in expected if stored[k] != expected[k]}
        if off:
            detail = ", ".join(f"{k} read table {a} replay {b}" for k, (a, b) in off.items())
            folded.find(wallet.user_id, (position, table), detail, wallet.wallet_id)
