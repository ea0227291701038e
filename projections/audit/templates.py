"""The audit's fold of template events: each template's chain unbroken, each draft and version
carrying the digest of its own fields, versions numbered in turn and effective in order, and
retirement and restoration only from the states they leave.

Templates carry no money; the journal shows their changes as zero lines (who, what, why).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ledger.template import TemplateStatus
from ledger.values import GENESIS_HASH, digest
from projections.audit.state import TemplateState
from projections.audit.stored import Row, decode, state_hash

TEMPLATE = "ledger.template:Template."
FROM = {"TemplateRetired": TemplateStatus.PUBLISHED, "TemplateRestored": TemplateStatus.RETIRED}
TO = {"TemplateRetired": TemplateStatus.RETIRED, "TemplateRestored": TemplateStatus.PUBLISHED}


class Findings(Protocol):
    """Where the template fold reports (``projections.audit.fold.Replay``)."""

    templates: dict[str, TemplateState]

    def find(self, user: str, where: Row | tuple[int, str] | None, problem: str, wallet: str = "") -> None:
        """Record a finding at a row."""


def fold_template(replay: Findings, row: Row) -> dict[str, Any]:
    """Check and fold one template event; its decoded fields."""
    fields = decode(row.state)
    state = replay.templates.get(row.originator_id)
    if state is None:
        state = replay.templates[row.originator_id] = TemplateState(fields.get("template_id", ""))
        if row.kind != "TemplateDrafted":
            _find(replay, state, row, "event of a template that was never drafted")
    name = state.template_id
    _chain(replay, state, row, fields)
    kind = row.kind
    if "spec" in fields and digest(fields["spec"]) != fields["digest"]:
        _find(replay, state, row, f"the fields of template {name} do not match their digest: "
                                  "the event was altered")
    if kind in ("TemplateDrafted", "TemplateDraftEdited"):
        state.draft_digest = fields["digest"]
        state.status = state.status or TemplateStatus.DRAFT
    elif kind == "TemplatePublished":
        _published(replay, state, row, fields)
    elif kind in FROM:
        if state.status != FROM[kind]:
            _find(replay, state, row, f"{kind} of template {name}, which was {state.status or 'never drafted'}")
        state.status = TO[kind]
    else:
        _find(replay, state, row, f"unknown template event {kind}")
    state.last_position, state.last_kind = row.position, kind
    return fields


def journal_entry(row: Row, fields: dict[str, Any], template_id: str) -> dict[str, Any]:
    """A template change as a journal entry: one zero line naming the template, the change, who and why."""
    what = f"v{fields['version']} " if "version" in fields else ""
    memo = f"{row.kind} {what}by {fields['by']}: {fields['reason']}"
    return {"position": row.position, "at": datetime.fromisoformat(fields["timestamp"]).isoformat(),
            "event": row.kind, "user_id": fields["by"],
            "lines": [{"account": f"template:{template_id}", "credits": 0, "money_minor": 0, "currency": "",
                       "memo": memo}]}


def _published(replay: Findings, state: TemplateState, row: Row, fields: dict[str, Any]) -> None:
    name = state.template_id
    if state.status == TemplateStatus.RETIRED:
        _find(replay, state, row, f"template {name} was published while retired")
    if not state.draft_digest or fields["digest"] != state.draft_digest:
        _find(replay, state, row, f"version {fields['version']} of template {name} is not its draft")
    if fields["version"] != state.published + 1:
        _find(replay, state, row, f"template {name} published version {fields['version']} after "
                                  f"version {state.published}")
    effective = datetime.fromisoformat(fields["effective_at"])
    if effective < datetime.fromisoformat(fields["timestamp"]):
        _find(replay, state, row, f"version {fields['version']} of template {name} took effect before it was "
                                  "published")
    if state.effective_at is not None and effective < state.effective_at:
        _find(replay, state, row, f"version {fields['version']} of template {name} takes effect before "
                                  "the version it follows")
    state.published = max(state.published, fields["version"])
    state.effective_at = effective
    state.draft_digest = ""
    if state.status != TemplateStatus.RETIRED:
        state.status = TemplateStatus.PUBLISHED


def _chain(replay: Findings, state: TemplateState, row: Row, fields: dict[str, Any]) -> None:
    expected = state.version + 1
    if row.version != expected:
        gap = (f"events v{expected}..v{row.version - 1} are missing" if row.version > expected
               else f"out of order: version {row.version} comes after version {state.version}")
        _find(replay, state, row, f"template {state.template_id}: {gap}")
    elif fields.get("prev_hash") != (state.last_hash if state.version else GENESIS_HASH):
        _find(replay, state, row, f"template {state.template_id}: hash chain broken: prev_hash does not match "
                                  f"the hash of v{state.version} ({state.last_kind} at position "
                                  f"{state.last_position}): that event was altered, or this one was")
    state.last_hash = state_hash(row.originator_id, row.version, fields)
    state.version = max(state.version, row.version)


def _find(replay: Findings, state: TemplateState, row: Row, problem: str) -> None:
    replay.find("", row, problem if state.template_id in problem else f"template {state.template_id}: {problem}")
