"""The audit's fold of reports, takedowns and each learner's standing: no money moves, but every standing's
versions run in turn, a takedown is counted once, sharing is suspended only while it was allowed and restored
only while suspended; the journal shows each of them as a zero line (who, what, why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from projections.audit.stored import Row, decode

STANDING = "ledger.standing:Standing."
ERASURE = "ledger.erasure:Erasure."
REPORTS = ("GenerationReported", "GenerationReportsDismissed", "GenerationTakenDown")  # generation events, no money


@dataclass
class StandingState:
    """One learner's standing as the replay has folded it so far."""

    user_id: str
    version: int = 0
    upheld: int = 0
    suspended: bool = False


class Findings(Protocol):
    """Where the standing fold reports (``projections.audit.fold.Replay``)."""

    standings: dict[str, StandingState]

    def find(self, user: str, where: Row | tuple[int, str] | None, problem: str, wallet: str = "") -> None:
        """Record a finding at a row."""


def fold_standing(replay: Findings, row: Row) -> tuple[StandingState, dict[str, Any]]:
    """Check and fold one standing event; the standing and the event's decoded fields."""
    fields = decode(row.state)
    state = replay.standings.get(row.originator_id)
    if state is None:
        state = replay.standings[row.originator_id] = StandingState(fields.get("user_id", ""))
        if row.kind != "StandingOpened":
            replay.find("", row, f"{row.kind} of a standing that was never opened")
    user = state.user_id
    if row.version != state.version + 1:
        replay.find(user, row, f"standing event version {row.version} follows version {state.version}")
    state.version = max(state.version, row.version)
    if row.kind == "TakedownUpheld":
        if fields["upheld"] != state.upheld + 1:
            replay.find(user, row, f"takedown counted as number {fields['upheld']} after {state.upheld}")
        state.upheld = fields["upheld"]
    elif row.kind == "SharingSuspended":
        if state.suspended:
            replay.find(user, row, "sharing suspended while it already was")
        state.suspended = True
    elif row.kind == "SharingRestored":
        if not state.suspended:
            replay.find(user, row, "sharing restored while it was not suspended")
        state.suspended, state.upheld = False, 0
    elif row.kind != "StandingOpened":
        replay.find(user, row, f"unknown standing event {row.kind}")
    return state, fields


def fold_erasure(replay: Findings, row: Row) -> dict[str, Any]:
    """Check one erasure event (each learner is erased once, by one event); its decoded fields."""
    fields = decode(row.state)
    if row.kind != "LearnerErased" or row.version != 1:
        replay.find(fields.get("user_id", ""), row, f"unexpected erasure event {row.kind} v{row.version}")
    return fields


def journal_entry(row: Row, fields: dict[str, Any], user_id: str) -> dict[str, Any]:
    """A report, a takedown or a change of standing as a journal entry: one zero line saying what, who and why
    (``user_id``: the operator of a takedown or dismissal, "" for a report, the learner of a standing)."""
    kind = row.kind
    if kind == "GenerationReported":
        memo, account = f"reported as {fields['category']}", f"image:{row.originator_id}"
    elif kind == "GenerationReportsDismissed":
        memo = f"{fields['reports']} reports dismissed by {fields['by']}: {fields['note']}"
        account = f"image:{row.originator_id}"
    elif kind == "GenerationTakenDown":
        memo, account = f"taken down by {fields['by']} as {fields['category']}: {fields['note']}", \
            f"image:{row.originator_id}"
    elif kind == "LearnerErased":
        memo, account = f"learner erased at the request of {fields['by']}", f"learner:{user_id}"
    elif kind == "SharingRestored":
        memo, account = f"sharing restored by {fields['by']}: {fields['reason']}", f"sharing:{user_id}"
    elif kind == "SharingSuspended":
        memo, account = f"sharing suspended after {fields['upheld']} takedowns", f"sharing:{user_id}"
    elif kind == "TakedownUpheld":
        memo, account = f"takedown {fields['upheld']} of image {fields['generation_id']}", f"sharing:{user_id}"
    else:
        memo, account = "standing opened", f"sharing:{user_id}"
    return {"position": row.position, "at": datetime.fromisoformat(fields["timestamp"]).isoformat(), "event": kind,
            "user_id": user_id, "lines": [{"account": account, "credits": 0, "money_minor": 0, "currency": "",
                                           "memo": memo}]}
