"""A part of the API process (projector, pipeline, sweeper) under its lock: works while it leads, stands by
otherwise, and after losing the lock stops and stands by again instead of taking the API down."""

from __future__ import annotations

import threading
import time

import pytest

from service.leader import LeadingPart

pytestmark = pytest.mark.unit


class SwitchLock:
    """A lock whose holder elsewhere the test decides; once taken, held until the test takes it away."""

    def __init__(self, *, free: bool) -> None:
        self.free = free
        self.held = False
        self.releases = 0

    def try_acquire(self) -> bool:
        self.held = self.free
        return self.held

    def still_held(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False
        self.releases += 1


class Part:
    """Counts its starts and stops."""

    def __init__(self) -> None:
        self.starts = self.stops = 0
        self.running = threading.Event()

    def start(self) -> None:
        self.starts += 1
        self.running.set()

    def stop(self) -> None:
        self.stops += 1
        self.running.clear()


def eventually(condition: object, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.01)
    return False


def test_a_free_lock_starts_the_part_before_begin_returns() -> None:
    part, lock = Part(), SwitchLock(free=True)
    leading = LeadingPart("projector", lock, part.start, part.stop, check_every=0.02)
    leading.begin()
    assert part.running.is_set() and leading.leads and leading.role == "leader"
    leading.end()
    assert (part.starts, part.stops, lock.releases) == (1, 1, 1)
    assert not leading.leads


def test_a_held_lock_keeps_the_part_standing_by_until_it_is_free() -> None:
    part, lock = Part(), SwitchLock(free=False)
    leading = LeadingPart("sweeper", lock, part.start, part.stop, check_every=0.02)
    leading.begin()
    assert not part.running.is_set() and leading.role == "standby"
    lock.free = True  # the leader went away
    assert eventually(part.running.is_set)
    leading.end()
    assert (part.starts, part.stops) == (1, 1)


def test_a_lost_lock_stops_the_part_which_stands_by_and_takes_over_again() -> None:
    part, lock = Part(), SwitchLock(free=True)
    leading = LeadingPart("pipeline", lock, part.start, part.stop, check_every=0.02)
    leading.begin()
    lock.free = False
    lock.held = False  # the session ended: another replica took the lock
    assert eventually(lambda: part.stops == 1 and not leading.leads)
    assert part.starts == 1
    lock.free = True
    assert eventually(lambda: part.starts == 2 and leading.leads)
    leading.end()
    assert part.stops == 2


def test_a_part_that_cannot_start_fails_the_start_and_gives_the_lock_up() -> None:
    lock = SwitchLock(free=True)

    def broken() -> None:
        raise RuntimeError("the model is not configured")

    leading = LeadingPart("pipeline", lock, broken, lambda: None, check_every=0.02)
    with pytest.raises(RuntimeError, match="not configured"):
        leading.begin()
    assert lock.releases == 1 and not leading.leads
