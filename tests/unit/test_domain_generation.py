"""The Generation aggregate on its own: its life from request to an image or a failure, repeats
that change nothing, results that conflict, and sharing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from ledger.errors import ConflictingCommand, InvalidTransition
from ledger.generation import Generation
from tests.conftest import T0

pytestmark = pytest.mark.unit
LATER = T0 + timedelta(minutes=1)
IMAGE = {"image_url": "https://img/1.png", "storage_id": "s1", "provider": "fake", "model": "m", "seed": 7,
         "timings": {"render": 1.5}}


def requested() -> Generation:
    return Generation.request(uuid4(), at=T0, user_id="ana", wallet_id=uuid4(), template_id="poster",
                              template_version=2, variables={"name": "Ana"}, input_image=None, cost=10,
                              hold_id="h", expires_at=T0 + timedelta(minutes=15), digest="d")


def completed() -> Generation:
    generation = requested()
    generation.complete(at=LATER, captured=10, late="", **IMAGE)
    return generation


def test_a_request_records_what_was_asked_for() -> None:
    generation = requested()
    assert (generation.status, generation.attempts, generation.is_finished) == ("requested", 0, False)
    assert (generation.template_id, generation.cost, generation.hold_id) == ("poster", 10, "h")
    assert [type(e) for e in generation.pending_events] == [Generation.GenerationRequested]


def test_each_start_counts_an_attempt() -> None:
    generation = requested()
    generation.start(worker="w1", at=T0)
    generation.start(worker="w2", at=LATER)
    assert (generation.status, generation.attempts) == ("started", 2)


def test_a_completion_records_the_image_once() -> None:
    generation = requested()
    assert generation.complete(at=LATER, captured=10, late="", **IMAGE) is True
    assert (generation.status, generation.image_url, generation.captured) == ("completed", IMAGE["image_url"], 10)
    count = len(generation.pending_events)
    assert generation.complete(at=LATER, captured=10, late="", **IMAGE) is False
    assert len(generation.pending_events) == count


def test_another_result_for_a_finished_generation_conflicts() -> None:
    generation = completed()
    count = len(generation.pending_events)
    with pytest.raises(ConflictingCommand):
        generation.complete(at=LATER, captured=10, late="", **{**IMAGE, "seed": 8})
    with pytest.raises(ConflictingCommand):
        generation.fail(reason="model down", retryable=True, at=LATER)
    assert (len(generation.pending_events), generation.status) == (count, "completed")


def test_a_failure_is_recorded_once_and_a_later_image_conflicts() -> None:
    generation = requested()
    assert generation.fail(reason="model down", retryable=False, at=LATER) is True
    assert (generation.status, generation.reason) == ("failed", "model down")
    assert generation.fail(reason="model down", retryable=False, at=LATER) is False
    with pytest.raises(ConflictingCommand):
        generation.complete(at=LATER, captured=10, late="", **IMAGE)


def test_a_finished_generation_cannot_start_again() -> None:
    generation = completed()
    with pytest.raises(InvalidTransition):
        generation.start(worker="w", at=LATER)


def test_only_a_finished_image_can_be_shared() -> None:
    generation = requested()
    with pytest.raises(InvalidTransition):
        generation.share(token="t1", at=LATER)
    assert generation.share_token == ""


def test_sharing_keeps_the_first_token_and_the_first_time() -> None:
    generation = completed()
    assert generation.share(token="t1", at=LATER) is True
    assert generation.share(token="t2", at=LATER) is False
    assert (generation.share_token, generation.first_shared_at) == ("t1", LATER)


def test_unsharing_stops_the_token_and_a_second_share_is_not_the_first() -> None:
    generation = completed()
    generation.share(token="t1", at=LATER)
    assert generation.unshare(at=LATER) is True
    event = generation.pending_events[-1]
    assert isinstance(event, Generation.GenerationUnshared)
    assert (event.token, generation.share_token) == ("t1", "")
    assert generation.unshare(at=LATER) is False
    generation.share(token="t2", at=LATER + timedelta(hours=1))
    assert (generation.share_token, generation.first_shared_at) == ("t2", LATER)


def test_replaying_its_events_rebuilds_the_same_generation() -> None:
    generation = requested()
    generation.start(worker="w", at=T0)
    generation.complete(at=LATER, captured=10, late="", **IMAGE)
    generation.share(token="t", at=LATER)
    rebuilt: Any = None
    for event in generation.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == generation.__dict__


def test_deleting_an_image_stops_its_share_link_once_and_keeps_what_was_paid() -> None:
    generation = completed()
    generation.share(token="t1", at=LATER)
    assert generation.delete_image(reason="owner", at=LATER) is True
    deleted = generation.pending_events[-1]
    assert isinstance(deleted, Generation.GenerationImageDeleted) and (deleted.reason, deleted.token) == ("owner", "t1")
    assert (generation.image_deleted, generation.share_token, generation.status, generation.captured) == (
        True, "", "completed", 10)
    assert generation.delete_image(reason="owner", at=LATER) is False  # a repeat records nothing
    with pytest.raises(InvalidTransition, match="was deleted"):
        generation.share(token="t2", at=LATER)


def test_only_a_finished_image_can_be_deleted() -> None:
    failed = requested()
    failed.fail(reason="safety", retryable=False, at=LATER)
    for generation in (requested(), failed):
        with pytest.raises(InvalidTransition, match="only a finished image"):
            generation.delete_image(reason="owner", at=LATER)


def test_a_generation_rebuilt_without_the_deleted_field_reads_as_not_deleted() -> None:
    generation = completed()
    del generation.__dict__["deleted"]  # a snapshot taken before images could be deleted
    assert generation.image_deleted is False and generation.delete_image(reason="owner", at=LATER) is True
