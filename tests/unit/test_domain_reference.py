"""The Reference aggregate on its own: an external reference is recorded once under an id that
follows from it, and a second use with another payload is a conflict."""

from __future__ import annotations

import pytest

from ledger.errors import ConflictingCommand
from ledger.reference import Reference
from tests.conftest import T0

pytestmark = pytest.mark.unit


def test_the_id_of_a_reference_follows_from_its_kind_and_value() -> None:
    assert Reference.id_for("payment", "pay-1") == Reference.id_for("payment", "pay-1")
    assert Reference.id_for("payment", "pay-1") != Reference.id_for("payment", "pay-2")
    assert Reference.id_for("payment", "pay-1") != Reference.id_for("refund", "pay-1")


def test_a_recorded_reference_remembers_its_payload_and_targets() -> None:
    reference = Reference.record("payment", "pay-1", "abc", {"wallet-1": "grant-1"}, timestamp=T0)
    assert reference.id == Reference.id_for("payment", "pay-1")
    assert (reference.kind, reference.reference, reference.digest) == ("payment", "pay-1", "abc")
    assert reference.targets == {"wallet-1": "grant-1"}
    assert [type(e) for e in reference.pending_events] == [Reference.ReferenceRecorded]


def test_the_same_payload_again_is_a_repeat() -> None:
    reference = Reference.record("payment", "pay-1", "abc", {}, timestamp=T0)
    reference.check("abc")
    assert len(reference.pending_events) == 1


def test_another_payload_under_the_same_reference_conflicts() -> None:
    reference = Reference.record("referral", "ref-9", "abc", {}, timestamp=T0)
    with pytest.raises(ConflictingCommand, match="referral ref-9"):
        reference.check("abd")
