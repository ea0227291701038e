"""Reports and takedowns in the ledger, on every store: a shared image reported once per reporter, its reports
dismissed or upheld, a takedown that deletes the image and counts against its owner, and sharing lost after
too many takedowns until an operator restores it."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from ledger import Generation, Ledger, Money
from ledger.errors import InvalidTransition, ReportsFull, SharingSuspended
from ledger.standing import Standing
from projections.audit.replay import replay
from projections.audit.trust import journal_entry as trust_entry
from tests.conftest import T0

pytestmark = pytest.mark.integration
RESULT = {"image_url": "https://img/1.png", "storage_id": "s1", "provider": "fake", "model": "m", "seed": 7,
          "timings": {}}


def shared_image(ledger: Ledger, key: str, token: str) -> UUID:
    ledger.purchase(user_id="ana", payment_id=f"pay-{key}", pack_id="p", amount=50,
                    price=Money(100, "INR"), at=T0)
    gen_id = ledger.request_generation(user_id="ana", request_key=key, template_id="poster", template_version=1,
                                       variables={"name": "Ana"}, input_image=None, cost=5, at=T0).value
    ledger.complete_generation(generation_id=gen_id, at=T0, **RESULT)
    ledger.share_generation(generation_id=gen_id, user_id="ana", token=token, at=T0)
    return UUID(str(gen_id))


def report(ledger: Ledger, gen_id: UUID, reporter: str, max_open: int = 10) -> int:
    return int(ledger.report_generation(generation_id=gen_id, category="hate", text="nasty", reporter=reporter,
                                        at=T0, max_open=max_open).value)


def test_a_reporter_reports_an_image_once_while_it_is_open(ledger: Ledger) -> None:
    gen_id = shared_image(ledger, "k1", "t1")
    assert report(ledger, gen_id, "r1") == 1
    again = ledger.report_generation(generation_id=gen_id, category="spam", text="", reporter="r1", at=T0,
                                     max_open=10)
    assert again.repeated and again.value == 1
    assert report(ledger, gen_id, "r2") == 2
    with pytest.raises(ReportsFull):
        report(ledger, gen_id, "r3", max_open=2)


def test_an_image_not_shared_cannot_be_reported(ledger: Ledger) -> None:
    gen_id = shared_image(ledger, "k1", "t1")
    ledger.unshare_generation(generation_id=gen_id, user_id="ana", at=T0)
    with pytest.raises(InvalidTransition, match="not shared"):
        report(ledger, gen_id, "r1")


def test_dismissing_keeps_the_image_and_closes_its_reports(ledger: Ledger) -> None:
    gen_id = shared_image(ledger, "k1", "t1")
    report(ledger, gen_id, "r1")
    report(ledger, gen_id, "r2")
    assert ledger.dismiss_reports(generation_id=gen_id, note="satire", by="op", at=T0).value == 2
    assert ledger.dismiss_reports(generation_id=gen_id, note="satire", by="op", at=T0).repeated
    generation = ledger.generation(gen_id)
    assert generation is not None and generation.share_token == "t1" and generation.reports == []
    assert report(ledger, gen_id, "r1") == 1  # a dismissed reporter may report again


def test_a_takedown_deletes_the_image_says_why_and_counts_against_its_owner(ledger: Ledger) -> None:
    gen_id = shared_image(ledger, "k1", "t1")
    report(ledger, gen_id, "r1")
    outcome = ledger.take_down_generation(generation_id=gen_id, category="hate", note="slur on a poster",
                                          by="op", at=T0, suspend_after=3)
    assert outcome.value == "s1"
    generation = ledger.generation(gen_id)
    assert generation is not None
    assert (generation.image_deleted, generation.share_token, generation.taken_down) == (True, "", "hate")
    events = list(ledger.repository.event_store.get(gen_id))
    taken = events[-1]
    assert isinstance(taken, Generation.GenerationTakenDown)
    assert isinstance(taken, Generation.GenerationImageDeleted)  # every reader of deletions sees it as one
    assert (taken.reason, taken.token, taken.note, taken.by) == ("takedown", "t1", "slur on a poster", "op")
    repeat = ledger.take_down_generation(generation_id=gen_id, category="hate", note="x", by="op", at=T0,
                                         suspend_after=3)
    assert repeat.repeated
    standing = ledger.standing("ana")
    assert standing is not None and (standing.upheld, standing.suspended) == (1, False)


def test_sharing_is_lost_after_the_limit_of_takedowns_until_an_operator_restores_it(ledger: Ledger) -> None:
    for n in range(2):
        gen_id = shared_image(ledger, f"k{n}", f"t{n}")
        ledger.take_down_generation(generation_id=gen_id, category="hate", note="", by="op", at=T0,
                                    suspend_after=2)
    standing = ledger.standing("ana")
    assert standing is not None and standing.suspended
    kinds = [type(e) for e in ledger.repository.event_store.get(standing.id)]
    assert kinds[-1] is Standing.SharingSuspended
    fresh = ledger.request_generation(user_id="ana", request_key="k9", template_id="poster", template_version=1,
                                      variables={}, input_image=None, cost=5, at=T0).value
    ledger.complete_generation(generation_id=fresh, at=T0, **RESULT)
    with pytest.raises(SharingSuspended, match="taken down"):
        ledger.share_generation(generation_id=fresh, user_id="ana", token="t9", at=T0)
    assert ledger.restore_sharing(user_id="ana", by="op", reason="appeal upheld", at=T0 + timedelta(days=1)).value
    assert ledger.restore_sharing(user_id="ana", by="op", reason="again", at=T0).repeated
    assert ledger.share_generation(generation_id=fresh, user_id="ana", token="t9", at=T0).value == "t9"


def test_restoring_a_learner_who_never_lost_sharing_is_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidTransition, match="never suspended"):
        ledger.restore_sharing(user_id="bo", by="op", reason="?", at=T0)


def test_the_audit_replays_reports_takedowns_and_standings_and_journals_each(ledger: Ledger) -> None:
    first, second = shared_image(ledger, "k1", "t1"), shared_image(ledger, "k2", "t2")
    report(ledger, first, "r1")
    ledger.dismiss_reports(generation_id=first, note="satire", by="op", at=T0)
    report(ledger, second, "r1")
    for gen_id in (first, second):
        ledger.take_down_generation(generation_id=gen_id, category="hate", note="slur", by="op", at=T0,
                                    suspend_after=2)
    ledger.restore_sharing(user_id="ana", by="op", reason="appeal upheld", at=T0)
    entries: list[tuple[str, str, str]] = []
    folded = replay(ledger, on_trust=lambda row, user, fields: entries.append(
        (row.kind, user, trust_entry(row, fields, user)["lines"][0]["memo"])))
    assert folded.finish() == [] and folded.problems == 0
    kinds = [kind for kind, _, _ in entries]
    assert kinds == ["GenerationReported", "GenerationReportsDismissed", "GenerationReported",
                     "GenerationTakenDown", "StandingOpened", "TakedownUpheld", "GenerationTakenDown",
                     "TakedownUpheld", "SharingSuspended", "SharingRestored"]
    assert [user for _, user, _ in entries] == ["", "op", "", "op", "ana", "ana", "op", "ana", "ana", "ana"]
    assert ("SharingRestored", "ana", "sharing restored by op: appeal upheld") in entries
