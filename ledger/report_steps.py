"""The steps of reports and takedowns: a shared image reported, its reports dismissed or upheld, and a
learner's sharing suspended after too many takedowns and restored by an operator.

A step that changes nothing marks its unit as a repeat of the aggregate's last event, so its outcome
names a position that already exists.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger.errors import GenerationNotFound, InvalidTransition, SharingSuspended
from ledger.generation import Generation
from ledger.standing import Standing, standing_id
from ledger.unit import Unit


def reported_generation(unit: Unit, gen_id: UUID) -> Generation:
    """The generation ``gen_id`` in this unit of work, or ``GenerationNotFound``."""
    found = unit.get(gen_id)
    if not isinstance(found, Generation):
        raise GenerationNotFound(f"no generation {gen_id}")
    return found


def standing_of(unit: Unit, user_id: str, at: datetime, *, opening: bool) -> Standing | None:
    """The standing of ``user_id``; opened when ``opening`` and there is none yet, else None."""
    found = unit.get(standing_id(user_id), creating=opening)
    if isinstance(found, Standing):
        return found
    if not opening:
        return None
    return unit.add(Standing.open(user_id=user_id, at=at))  # type: ignore[return-value]


def check_may_share(unit: Unit, user_id: str, at: datetime) -> None:
    """``SharingSuspended`` when ``user_id`` lost sharing to takedowns and no operator restored it."""
    standing = standing_of(unit, user_id, at, opening=False)
    if standing is not None and standing.suspended:
        raise SharingSuspended(f"sharing is suspended for {user_id}: {standing.upheld} of their images were "
                               "taken down after reports; an operator can restore it")


def report_image(unit: Unit, gen_id: UUID, *, category: str, text: str, reporter: str, at: datetime,
                 max_open: int) -> int:
    """Report a shared image; the number of its open reports."""
    generation = reported_generation(unit, gen_id)
    if not generation.report(category=category, text=text, reporter=reporter, at=at, max_open=max_open):
        unit.repeat_of(gen_id, generation.version)
    return len(generation.reports)


def take_down(unit: Unit, gen_id: UUID, *, category: str, note: str, by: str, at: datetime, limit: int) -> str:
    """Uphold the reports of an image: take it down and count it against its owner; its storage id."""
    generation = reported_generation(unit, gen_id)
    if not generation.take_down(category=category, note=note, by=by, at=at):
        unit.repeat_of(gen_id, generation.version)
        counted = standing_of(unit, generation.user_id, at, opening=False)
        if counted is not None:  # the first answer's position was its standing's events', after the image's
            unit.repeat_of(counted.id, counted.version)
        return generation.storage_id
    standing = standing_of(unit, generation.user_id, at, opening=True)
    assert standing is not None
    standing.uphold(generation_id=gen_id, limit=limit, at=at)
    return generation.storage_id


def dismiss_reports(unit: Unit, gen_id: UUID, *, note: str, by: str, at: datetime) -> int:
    """Keep a reported image: close its open reports; how many were closed (0 on a repeat)."""
    generation = reported_generation(unit, gen_id)
    open_reports = len(generation.reports)
    if not generation.dismiss_reports(note=note, by=by, at=at):
        unit.repeat_of(gen_id, generation.version)
        return 0
    return open_reports


def restore_sharing(unit: Unit, user_id: str, *, by: str, reason: str, at: datetime) -> bool:
    """Give a learner sharing back; whether it was suspended (``InvalidTransition`` for one never suspended)."""
    standing = standing_of(unit, user_id, at, opening=False)
    if standing is None:
        raise InvalidTransition(f"sharing was never suspended for {user_id}")
    if not standing.restore(by=by, reason=reason, at=at):
        unit.repeat_of(standing.id, standing.version)
        return False
    return True
