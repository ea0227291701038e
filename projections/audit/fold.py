"""The replay: folds raw stored events into wallets and generations, checking each one as it goes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ledger.postings import GRANT_SOURCES, HOLD_ENDINGS, Posting, postings_for
from ledger.values import GENESIS_HASH, MAX_CREDITS, PAID_SOURCES
from projections.audit.checks import (
    generation_at_end,
    generation_paid,
    generation_step,
    references_at_end,
    resolution,
    wallet_totals,
)
from projections.audit.reconciliations import RECONCILIATION, RunState, check_resolutions, fold_reconciliation
from projections.audit.state import Finding, GenerationState, GrantState, HoldState, TemplateState, WalletState
from projections.audit.stored import Row, decode, part_of, state_hash, wallet_hint
from projections.audit.templates import TEMPLATE, fold_template
from projections.audit.trust import ERASURE, REPORTS, STANDING, StandingState, fold_erasure, fold_standing

WALLET = "ledger.wallet:Wallet."
GENERATION = "ledger.generation:Generation."
REFERENCE = "ledger.reference:Reference."
RECHARGE = "ledger.recharge:Recharge."
TOPUP = "ledger.topup:TopUpPlan."  # an auto top-up plan moves no credits: its recharges do
OnEntry = Callable[[Row, WalletState, dict[str, Any], list[Posting]], None]
OnTemplate = Callable[[Row, TemplateState, dict[str, Any]], None]
OnTrust = Callable[[Row, str, dict[str, Any]], None]  # a report, takedown or standing event: the row, whose, fields
MAX_FINDINGS = 10_000


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Replay:
    """Every wallet and generation folded from the raw log, with what was found wrong on the way."""

    def __init__(self, *, until: datetime | None = None, on_entry: OnEntry | None = None,
                 share: tuple[int, int] = (0, 1), on_template: OnTemplate | None = None,
                 on_trust: OnTrust | None = None) -> None:
        self.until = until
        self.on_trust = on_trust
        self.standings: dict[str, StandingState] = {}
        self.part, self.parts = share  # this replay folds the wallets of part ``part`` of ``parts``
        self.on_entry = on_entry
        self.on_template = on_template
        self.wallets: dict[str, WalletState] = {}
        self.generations: dict[str, GenerationState] = {}
        self.templates: dict[str, TemplateState] = {}
        self.findings: list[Finding] = []
        self.problems = 0
        self.events = 0
        self.position = 0
        self.journal: dict[str, int] = {}
        self.accounts: dict[tuple[str, str], list[int]] | None = None  # kept only to diff the journal table
        self.outcomes: dict[str, tuple[str, int]] | None = None  # kept only to diff the generations table
        self.references: dict[tuple[str, str], tuple[int, str, str]] = {}  # (grant, grant|close) -> where, what
        self.recharges: dict[str, tuple[str, str, int, str]] = {}  # recharge id -> user, status, where, detail
        self.reconciliations: dict[str, RunState] = {}
        self.purchased: set[str] = set()  # every payment id a purchase was made under, whatever the part
        self._wallet_steps: dict[str, Callable[[WalletState, Row, dict[str, Any]], None]] = {
            **dict.fromkeys(GRANT_SOURCES, self._grant), "HoldPlaced": self._hold_placed,
            **dict.fromkeys(HOLD_ENDINGS, self._resolved),
            "CreditsExpired": self._credits_expired, "PurchaseRefunded": self._closed,
            "ReferralReversed": self._closed, "SettingsChanged": self._control, "WalletFrozen": self._control,
            "WalletUnfrozen": self._control,
        }

    def feed(self, rows: Iterable[Row]) -> None:
        """Fold a page of rows, in log order."""
        for row in rows:
            self.events += 1
            self.position = row.position
            topic = row.topic
            try:
                if topic.startswith(WALLET):
                    if self.parts == 1 or part_of(row.originator_id, self.parts) == self.part:
                        self._wallet_event(row)
                elif topic.startswith(GENERATION):
                    self._generation_event(row)
                elif topic.startswith(REFERENCE):
                    self._reference(row)
                elif topic.startswith(TEMPLATE):
                    self._template_event(row)
                elif topic.startswith(RECHARGE):
                    self._recharge(row)
                elif topic.startswith(TOPUP):
                    pass
                elif topic.startswith(STANDING):
                    self._standing_event(row)
                elif topic.startswith(ERASURE):
                    self._erasure_event(row)
                elif topic.startswith(RECONCILIATION):
                    self._reconciliation_event(row)
                elif self.part == 0:
                    self.find("", row, f"unknown event type {topic}")
            except (ValueError, KeyError, TypeError, AttributeError) as error:  # a damaged row, not a crash
                wallet = self.wallets.get(row.originator_id)
                self.find(wallet.user_id if wallet else "", row,
                          f"unreadable stored event {row.originator_id} v{row.version}: "
                          f"{type(error).__name__}: {error}", row.originator_id)

    def finish(self) -> list[Finding]:
        """Run the end-of-log checks; every finding, in the order found."""
        for wallet in self.wallets.values():
            wallet_totals(self, wallet)
        for gen in list(self.generations.values()):
            generation_at_end(self, gen)
        if self.until is None:
            references_at_end(self)
            self._recharges_at_end()
            check_resolutions(self, self.purchased)
        for unit, total in self.journal.items():
            if total:
                self.find("", None, f"the whole journal does not balance: {unit} sums to {total}")
        return self.findings

    def find(self, user: str, where: Row | tuple[int, str] | None, problem: str, wallet: str = "") -> None:
        """Record a finding at a row, at (position, event type), or at the end of the log.

        The first ``MAX_FINDINGS`` are kept, all are counted."""
        self.problems += 1
        if len(self.findings) < MAX_FINDINGS:
            position, event = (where.position, where.kind) if isinstance(where, Row) else where or (
                self.position, "end of log")
            self.findings.append(Finding(user, position, event, problem, wallet))

    # Wallets.

    def _wallet_event(self, row: Row) -> None:
        fields = decode(row.state)
        kind = row.kind
        if self.until is not None and datetime.fromisoformat(fields["timestamp"]) > self.until:
            return
        wallet = self.wallets.get(row.originator_id)
        if wallet is None:
            wallet = self.wallets[row.originator_id] = WalletState(row.originator_id)
            if kind != "WalletOpened":
                self.find("", row, "event of a wallet that was never opened", row.originator_id)
        self._chain(wallet, row, fields)
        if kind == "WalletOpened":
            wallet.user_id = fields["user_id"]
        else:
            step = self._wallet_steps.get(kind)
            if step is None:
                self.find(wallet.user_id, row, f"unknown wallet event {kind}")
            else:
                step(wallet, row, fields)
        lines = postings_for(kind, fields, wallet.book)
        if lines:
            self._post(wallet, row, lines)
            if self.on_entry is not None:
                self.on_entry(row, wallet, fields, lines)
        wallet.last_position, wallet.last_kind = row.position, kind

    def _chain(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        expected = wallet.version + 1
        if row.version != expected:
            gap = (f"events v{expected}..v{row.version - 1} are missing" if row.version > expected
                   else f"out of order: version {row.version} comes after version {wallet.version}")
            self.find(wallet.user_id, row, f"{gap} (previous: {wallet.last_kind or 'none'} "
                      f"at position {wallet.last_position})", wallet.wallet_id)
        elif fields.get("prev_hash") != (wallet.last_hash if wallet.version else GENESIS_HASH):
            self.find(wallet.user_id, row, f"hash chain broken: prev_hash does not match the hash of v{wallet.version} "
                      f"({wallet.last_kind} at position {wallet.last_position}): that event was altered, "
                      "or this one was", wallet.wallet_id)
        wallet.last_hash = state_hash(row.originator_id, row.version, fields)
        wallet.version = max(wallet.version, row.version)

    def _post(self, wallet: WalletState, row: Row, lines: list[Posting]) -> None:
        journal, sums = self.journal, {"credits": 0}
        for p in lines:
            sums["credits"] += p.credits
            if p.money_minor:
                sums[p.currency] = sums.get(p.currency, 0) + p.money_minor
        for unit, n in sums.items():
            journal[unit] = journal.get(unit, 0) + n
            if n:
                self.find(wallet.user_id, row, f"journal entry does not balance: {unit} sums to {n}",
                          wallet.wallet_id)
        if self.accounts is not None:
            for p in lines:
                total = self.accounts.setdefault((p.account, p.currency), [0, 0])
                total[0] += p.credits
                total[1] += p.money_minor

    def _take(self, wallet: WalletState, row: Row, grant_id: str, n: int, what: str) -> GrantState | None:
        grant = wallet.grants.get(grant_id)
        if grant is None:
            self.find(wallet.user_id, row, f"{what} {n} credits from unknown grant {grant_id}", wallet.wallet_id)
            return None
        grant.remaining -= n
        if grant.remaining < 0:
            self.find(wallet.user_id, row, f"{what} {n} credits from grant {grant_id}: its remaining credits "
                      f"went negative ({grant.remaining})", wallet.wallet_id)
        return grant

    def _grant(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        n, grant_id = fields["credits"], fields["grant_id"]
        if n > 0:
            if grant_id in wallet.grants:
                self.find(wallet.user_id, row, f"grant {grant_id} granted twice", wallet.wallet_id)
            source = GRANT_SOURCES[row.kind]
            wallet.grants[grant_id] = GrantState(source, n, n, _time(fields["expires_at"]), source in PAID_SOURCES,
                                                 position=row.position)
            wallet.granted += n
        taken = fields.get("taken", {})
        if n < 0 and sum(taken.values()) != -n:
            self.find(wallet.user_id, row, f"adjustment of {n} took {sum(taken.values())} credits", wallet.wallet_id)
        for taken_id, k in taken.items():
            self._take(wallet, row, taken_id, k, "took")
            wallet.clawed_back += k

    def _hold_placed(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        hold_id, amount, portions = fields["hold_id"], fields["credits"], fields["portions"]
        if hold_id in wallet.pending or hold_id in wallet.resolved:
            self.find(wallet.user_id, row, f"hold {hold_id} placed twice", wallet.wallet_id)
        if sum(portions.values()) != amount or amount <= 0:
            self.find(wallet.user_id, row, f"hold {hold_id} of {amount} credits reserves {sum(portions.values())}",
                      wallet.wallet_id)
        at = datetime.fromisoformat(fields["timestamp"])
        for grant_id, n in portions.items():
            grant = self._take(wallet, row, grant_id, n, "held")
            if grant is not None and not grant.usable(at):
                self.find(wallet.user_id, row, f"hold {hold_id} reserved credits of grant {grant_id}, which was "
                          f"{grant.closed or 'expired'} then", wallet.wallet_id)
        wallet.held += amount
        deadline = datetime.fromisoformat(fields["expires_at"])
        wallet.pending[hold_id] = HoldState(amount, portions, row.position, deadline)

    def _resolved(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        hold_id = fields["hold_id"]
        hold = wallet.pending.pop(hold_id, None)
        if hold is None:
            done = wallet.resolved.get(hold_id)
            problem = f"hold {hold_id} was already {done[0]}" if done else f"hold {hold_id} was never placed"
            self.find(wallet.user_id, row, problem, wallet.wallet_id)
            return
        captured = resolution(self, wallet, row, fields, hold)
        wallet.held -= hold.amount
        wallet.resolved[hold_id] = (row.kind[4:].lower(), captured)
        gen = self.generations.get(hold_id.removesuffix(":late"))
        if gen is not None:
            generation_paid(self, gen)

    def _control(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        # Spend controls move no credits (the chain is checked for every event); what they carry must
        # still be what the wallet accepts: a reason for a freeze, a cap in bounds.
        if row.kind == "SettingsChanged":
            for name in ("daily_spend_cap", "low_balance_below"):
                value = fields.get(name)
                if value is not None and (not isinstance(value, int) or not 0 <= value <= MAX_CREDITS):
                    self.find(wallet.user_id, row, f"{name} {value!r} out of bounds", wallet.wallet_id)
        elif not str(fields.get("reason", "")).strip():
            self.find(wallet.user_id, row, f"{row.kind} without a reason", wallet.wallet_id)

    def _credits_expired(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        at = _time(fields["timestamp"])
        for grant_id, n in fields["expired"].items():
            grant = self._take(wallet, row, grant_id, n, "expired")
            wallet.expired += n
            if grant is not None and at is not None and (grant.expires_at is None or grant.expires_at > at):
                self.find(wallet.user_id, row, f"grant {grant_id} expired before its expiry", wallet.wallet_id)

    def _closed(self, wallet: WalletState, row: Row, fields: dict[str, Any]) -> None:
        grant_id, n = fields["grant_id"], fields["clawed_back"]
        grant = self._take(wallet, row, grant_id, n, "clawed back")
        wallet.clawed_back += n
        if grant is None:
            return
        if grant.closed:
            self.find(wallet.user_id, row, f"grant {grant_id} was already {grant.closed}", wallet.wallet_id)
        grant.closed = "refunded" if row.kind == "PurchaseRefunded" else "reversed"
        if grant.remaining != 0:
            self.find(wallet.user_id, row, f"closing grant {grant_id} left {grant.remaining} credits in it",
                      wallet.wallet_id)

    # References: every grant was made, and every refund or reversal closed one, under a reference.

    def _reference(self, row: Row) -> None:
        if self.until is not None:
            return
        fields = decode(row.state)
        kind, role = fields["kind"], "close" if fields["kind"] in ("refund", "reversal") else "grant"
        if kind == "payment":
            self.purchased.add(fields["reference"])
        if kind == "adjustment":
            return  # a negative adjustment names a grant it never made
        for wallet_id, grant_id in fields["targets"].items():
            if self.parts == 1 or part_of(wallet_id, self.parts) == self.part:
                self.references[(grant_id, role)] = (row.position, wallet_id, f"{kind} {fields['reference']}")

    # Templates: no money, but their chains and versions are checked all the same (by one part only).

    def _template_event(self, row: Row) -> None:
        if self.until is not None or self.part != 0:
            return
        fields = fold_template(self, row)
        if self.on_template is not None:
            self.on_template(row, self.templates[row.originator_id], fields)

    # Recharges: a confirmed one has its redemption; one that lapsed unresolved is reported until it ends.

    def _recharge(self, row: Row) -> None:
        if self.until is not None or self.part != 0:
            return
        fields = decode(row.state)
        key = str(row.originator_id)
        user = fields.get("user_id") or self.recharges.get(key, ("", "", 0, ""))[0]
        status = {"RechargeRequested": "requested", "RechargeConfirmed": "confirmed", "RechargeDeclined": "declined",
                  "RechargeLapsed": "lapsed"}.get(row.kind)
        if status is None:  # an attempt without an answer changes no status
            return
        self.recharges[key] = (user, status, row.position, str(fields.get("reason", "")))

    def _recharges_at_end(self) -> None:
        redeemed = {what for _, _, what in self.references.values() if what.startswith("redemption ")}
        for key, (user, status, position, detail) in self.recharges.items():
            if status == "confirmed" and f"redemption {key}" not in redeemed:
                self.find(user, (position, "RechargeConfirmed"), f"recharge {key} was confirmed with no redemption")
            elif status == "lapsed":
                self.find(user, (position, "RechargeLapsed"), f"recharge {key} lapsed unresolved: {detail}")

    # Standings: no money either, checked by one part only.

    def _standing_event(self, row: Row) -> None:
        if self.until is not None or self.part != 0:
            return
        state, fields = fold_standing(self, row)
        if self.on_trust is not None:
            self.on_trust(row, state.user_id, fields)

    def _reconciliation_event(self, row: Row) -> None:
        if self.until is not None or self.part != 0:
            return
        fields = fold_reconciliation(self, row)
        if self.on_trust is not None:
            self.on_trust(row, fields["by"], fields)

    def _erasure_event(self, row: Row) -> None:
        if self.until is not None or self.part != 0:
            return
        fields = fold_erasure(self, row)
        if self.on_trust is not None:
            self.on_trust(row, fields.get("user_id", ""), fields)

    # Generations.

    def _generation_event(self, row: Row) -> None:
        kind = row.kind
        if self.until is not None:
            return  # balances as of an instant need wallets only
        if kind == "GenerationRequested":
            if self.parts > 1 and part_of(wallet_hint(row.state), self.parts) != self.part:
                return  # another process folds this generation's wallet
            f = decode(row.state)
            if row.originator_id in self.generations or row.version != 1:
                self.find(f["user_id"], row, f"generation {row.originator_id} requested twice")
            self.generations[row.originator_id] = GenerationState(
                row.originator_id, f["user_id"], f["wallet_id"], f["hold_id"], f["cost"], position=row.position)
            if self.outcomes is not None:
                self.outcomes[row.originator_id] = ("requested", 0)
            return
        if self.on_trust is not None and row.kind in REPORTS and self.part == 0:
            fields = decode(row.state)  # who acted: the operator (a report's reporter is anonymous)
            self.on_trust(row, fields.get("by", ""), fields)
        gen = self.generations.get(row.originator_id)
        if gen is None:
            return  # already checked against its hold and let go
        generation_step(self, gen, row)

