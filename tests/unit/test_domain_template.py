"""The Template aggregate on its own and through the Ledger: drafts, immutable versions effective at a
time, retirement and restoration, who and why on every change, repeats that change nothing."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid5

import pytest

from ledger import Ledger, TemplateNotFound, TemplateStatus, template_uuid
from ledger.errors import InvalidCommand, InvalidTransition
from ledger.template import Template
from ledger.values import NAMESPACE, TEMPLATES_NAMESPACE, stable_id
from tests.conftest import T0

pytestmark = pytest.mark.unit
LATER = T0 + timedelta(hours=1)
V1 = {"id": "diwali-offer", "title": "Diwali offer", "cost": 5}
V2 = {**V1, "title": "Diwali offer poster", "cost": 6}


def drafted() -> Template:
    return Template.create(template_id="diwali-offer", spec=V1, by="ops", reason="new for the festival", at=T0)


def published() -> Template:
    template = drafted()
    template.publish(by="ops", reason="ready", at=T0)
    return template


def test_a_template_has_a_uuid5_id_of_its_own_namespace() -> None:
    template = drafted()
    assert template.id == template_uuid("diwali-offer") == uuid5(TEMPLATES_NAMESPACE, "diwali-offer")
    assert TEMPLATES_NAMESPACE != NAMESPACE
    assert template.id != stable_id("template", "diwali-offer")


def test_every_change_records_who_made_it_and_why() -> None:
    template = published()
    template.edit(spec=V2, by="asha", reason="typo in the title", at=LATER)
    template.retire(by="ravi", reason="festival over", at=LATER)
    template.restore(by="ravi", reason="back by demand", at=LATER)
    events = template.collect_events()
    assert [(type(e).__name__, e.by, e.reason) for e in events] == [  # type: ignore[attr-defined]
        ("TemplateDrafted", "ops", "new for the festival"), ("TemplatePublished", "ops", "ready"),
        ("TemplateDraftEdited", "asha", "typo in the title"), ("TemplateRetired", "ravi", "festival over"),
        ("TemplateRestored", "ravi", "back by demand")]


@pytest.mark.parametrize(("by", "reason", "named"), [("", "why", "by"), ("ops", " ", "reason")])
def test_a_change_without_who_or_why_is_refused(by: str, reason: str, named: str) -> None:
    with pytest.raises(InvalidCommand, match=named):
        Template.create(template_id="x", spec=V1, by=by, reason=reason, at=T0)
    template = published()
    with pytest.raises(InvalidCommand, match=named):
        template.retire(by=by, reason=reason, at=LATER)


def test_publishing_makes_the_draft_an_immutable_numbered_version() -> None:
    template = published()
    assert template.status == TemplateStatus.PUBLISHED and template.draft is None
    template.edit(spec=V2, by="ops", reason="price", at=LATER)
    assert template.latest is not None and template.latest["spec"] == V1  # the draft changes no version
    assert template.publish(by="ops", reason="price", at=LATER) == 2
    assert [(v["version"], v["spec"]) for v in template.versions] == [(1, V1), (2, V2)]


def test_a_version_effective_later_leaves_the_earlier_one_in_force_until_then() -> None:
    template = published()
    template.edit(spec=V2, by="ops", reason="price from Monday", at=T0)
    template.publish(by="ops", reason="price from Monday", at=T0, effective_at=LATER)
    assert template.version_at(LATER - timedelta(seconds=1))["version"] == 1  # type: ignore[index]
    assert template.version_at(LATER)["version"] == 2  # type: ignore[index]
    assert template.version_at(T0 - timedelta(seconds=1)) is None


def test_a_version_cannot_take_effect_in_the_past_or_before_the_one_it_follows() -> None:
    template = drafted()
    with pytest.raises(InvalidCommand, match="in the past"):
        template.publish(by="ops", reason="r", at=LATER, effective_at=T0)
    template.publish(by="ops", reason="r", at=T0, effective_at=LATER + timedelta(hours=1))
    template.edit(spec=V2, by="ops", reason="r", at=T0)
    with pytest.raises(InvalidCommand, match="before version 1"):
        template.publish(by="ops", reason="r", at=T0, effective_at=LATER)


def test_an_unchanged_draft_is_no_event() -> None:
    template = published()
    assert template.edit(spec=dict(V1), by="ops", reason="same again", at=LATER) is False
    assert template.edit(spec=V2, by="ops", reason="edit", at=LATER) is True
    assert template.edit(spec=V2, by="ops", reason="edit again", at=LATER) is False
    assert len(template.collect_events()) == 3


def test_nothing_to_publish_retire_or_restore_is_refused_by_name() -> None:
    with pytest.raises(InvalidTransition, match="no draft"):
        published().publish(by="ops", reason="r", at=LATER)
    with pytest.raises(InvalidTransition, match="never published"):
        drafted().retire(by="ops", reason="r", at=T0)
    with pytest.raises(InvalidTransition, match="never published"):
        drafted().restore(by="ops", reason="r", at=T0)
    template = published()
    template.retire(by="ops", reason="r", at=LATER)
    template.edit(spec=V2, by="ops", reason="r", at=LATER)
    with pytest.raises(InvalidTransition, match="restore it"):
        template.publish(by="ops", reason="r", at=LATER)


def test_retiring_and_restoring_twice_changes_nothing_the_second_time() -> None:
    template = published()
    assert template.retire(by="ops", reason="r", at=LATER) is True
    assert template.retire(by="ops", reason="r", at=LATER) is False
    assert template.status == TemplateStatus.RETIRED
    assert template.restore(by="ops", reason="r", at=LATER) is True
    assert template.restore(by="ops", reason="r", at=LATER) is False
    assert template.status == TemplateStatus.PUBLISHED


def test_the_ledger_stores_templates_and_imports_an_unchanged_spec_as_no_new_version(ledger: Ledger) -> None:
    first = ledger.import_template(template_id="diwali-offer", spec=V1, by="import", reason="catalog", at=T0)
    again = ledger.import_template(template_id="diwali-offer", spec=dict(V1), by="import", reason="catalog", at=T0)
    assert (first.value, again.value, again.repeated, again.position) == (1, None, True, first.position)
    changed = ledger.import_template(template_id="diwali-offer", spec=V2, by="import", reason="catalog", at=LATER)
    assert changed.value == 2 and changed.position > first.position
    stored = ledger.template("diwali-offer")
    assert stored is not None and [v["version"] for v in stored.versions] == [1, 2]
    assert ledger.retire_template(template_id="diwali-offer", by="ops", reason="over", at=LATER).value is True
    assert ledger.restore_template(template_id="diwali-offer", by="ops", reason="back", at=LATER).value is True


def test_the_ledger_drafts_then_publishes(ledger: Ledger) -> None:
    assert ledger.draft_template(template_id="t", spec=V1, by="ops", reason="new", at=T0).value is True
    assert ledger.publish_template(template_id="t", by="ops", reason="go", at=T0).value == 1
    repeat = ledger.draft_template(template_id="t", spec=V1, by="ops", reason="same", at=T0)
    assert repeat.value is False and repeat.repeated


def test_commands_on_a_template_never_drafted_name_it(ledger: Ledger) -> None:
    with pytest.raises(TemplateNotFound, match="nope"):
        ledger.publish_template(template_id="nope", by="ops", reason="r", at=T0)
    assert ledger.template("nope") is None
