"""The audit replays template events too: a clean history has no findings, an altered or
reordered one is found where it breaks, and the journal shows each change with who and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from ledger import Ledger, Money
from ledger.values import event_hash
from projections.audit.fold import Replay
from projections.audit.replay import replay
from projections.audit.reports import JournalWindow
from projections.audit.stored import Row, decode, rows, state_hash
from tests.conftest import T0

pytestmark = pytest.mark.unit
V1 = {"id": "diwali-offer", "title": "Diwali offer", "cost": 5, "layout": {"box": [0.08, 0.6, 0.92, 0.85]}}
V2 = {**V1, "title": "दिवाली ऑफ़र", "cost": 6}


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def history(app: Ledger) -> None:
    """A template through its whole life, beside a wallet."""
    app.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=10, price=Money(900, "INR"), at=T0)
    app.draft_template(template_id="diwali-offer", spec=V1, by="asha", reason="festival poster", at=T0)
    app.publish_template(template_id="diwali-offer", by="asha", reason="approved", at=T0)
    app.draft_template(template_id="diwali-offer", spec=V2, by="ravi", reason="Hindi title, new price", at=T0)
    app.publish_template(template_id="diwali-offer", by="ravi", reason="price from tomorrow", at=T0,
                         effective_at=T0 + timedelta(days=1))
    app.retire_template(template_id="diwali-offer", by="ravi", reason="festival over", at=T0 + timedelta(days=5))
    app.restore_template(template_id="diwali-offer", by="asha", reason="next year", at=T0 + timedelta(days=300))


def all_rows(app: Ledger) -> list[Row]:
    return [r for page in rows(app) for r in page]


def refold(found: list[Row]) -> Replay:
    folded = Replay()
    folded.feed(found)
    folded.finish()
    return folded


def altered(row: Row, **changes: Any) -> Row:
    state = json.loads(row.state)
    state.update(changes)
    return row._replace(state=json.dumps(state).encode())


def test_a_template_history_replays_with_no_findings(app: Ledger) -> None:
    history(app)
    folded = replay(app)
    assert folded.findings == []
    (state,) = folded.templates.values()
    assert (state.template_id, state.published, state.status, state.version) == ("diwali-offer", 2, "published", 6)


def test_the_fast_hash_of_a_stored_template_event_equals_the_ledgers_event_hash(app: Ledger) -> None:
    history(app)
    template = app.template("diwali-offer")
    assert template is not None
    stored = [r for r in all_rows(app) if r.topic.startswith("ledger.template:")]
    events = app.repository.event_store.get(template.id)
    assert [state_hash(r.originator_id, r.version, decode(r.state)) for r in stored] == [event_hash(e) for e in events]


def test_an_altered_spec_is_found_at_its_event(app: Ledger) -> None:
    history(app)
    found = all_rows(app)
    at = next(i for i, r in enumerate(found) if r.kind == "TemplatePublished")
    spec = json.loads(found[at].state)["spec"]
    found[at] = altered(found[at], spec={**spec, "cost": 1})
    problems = [(f.position, f.event, f.problem) for f in refold(found).findings]
    assert (found[at].position, "TemplatePublished",
            "the fields of template diwali-offer do not match their digest: the event was altered") in problems


def test_an_event_altered_with_a_matching_digest_breaks_the_chain_at_the_next_one(app: Ledger) -> None:
    history(app)
    found = all_rows(app)
    at = next(i for i, r in enumerate(found) if r.kind == "TemplateDraftEdited")
    found[at] = altered(found[at], reason="someone else's reason")
    problems = [f.problem for f in refold(found).findings]
    assert any("hash chain broken" in p and "diwali-offer" in p for p in problems)


def test_a_missing_template_event_is_found(app: Ledger) -> None:
    history(app)
    found = [r for r in all_rows(app) if r.kind != "TemplateRetired"]
    problems = [f.problem for f in refold(found).findings]
    assert any("events v5..v5 are missing" in p for p in problems)
    assert any("TemplateRestored of template diwali-offer, which was published" in p for p in problems)


def test_a_version_that_took_effect_before_it_was_published_is_found(app: Ledger) -> None:
    history(app)
    found = all_rows(app)
    at = next(i for i, r in enumerate(found) if r.kind == "TemplatePublished")
    found[at] = altered(found[at], effective_at={"_type_": "datetime_iso",
                                                 "_data_": (T0 - timedelta(days=1)).isoformat()})
    problems = [f.problem for f in refold(found).findings]
    assert any("took effect before it was published" in p for p in problems)


def test_the_journal_shows_each_template_change_with_who_and_why_and_no_money(app: Ledger) -> None:
    history(app)
    entries: list[dict[str, Any]] = []
    window = JournalWindow(None, None, entries.append)
    replay(app, on_entry=window, on_template=window.template)
    changes = [e for e in entries if e["event"].startswith("Template")]
    assert [(e["event"], e["user_id"], e["lines"][0]["memo"]) for e in changes] == [
        ("TemplateDrafted", "asha", "TemplateDrafted by asha: festival poster"),
        ("TemplatePublished", "asha", "TemplatePublished v1 by asha: approved"),
        ("TemplateDraftEdited", "ravi", "TemplateDraftEdited by ravi: Hindi title, new price"),
        ("TemplatePublished", "ravi", "TemplatePublished v2 by ravi: price from tomorrow"),
        ("TemplateRetired", "ravi", "TemplateRetired by ravi: festival over"),
        ("TemplateRestored", "asha", "TemplateRestored by asha: next year")]
    assert all(line["account"] == "template:diwali-offer" and line["credits"] == 0 == line["money_minor"]
               for e in changes for line in e["lines"])
