"""The relay process runs the relay and the alerts' publisher together: one ending stops the other."""

from __future__ import annotations

import asyncio

import pytest

from api.processes.relay import together

pytestmark = pytest.mark.unit


class Part:
    """A part that runs until stopped, or fails at once when told to."""

    def __init__(self, *, fails: bool = False) -> None:
        self.fails = fails
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        if self.fails:
            raise RuntimeError("the broker refused a record")
        await self.stopped.wait()


async def test_a_failing_part_stops_the_other_and_its_failure_ends_the_process() -> None:
    relay, alerts = Part(), Part(fails=True)

    def stop() -> None:
        relay.stopped.set()
        alerts.stopped.set()

    with pytest.raises(RuntimeError, match="refused"):
        await asyncio.wait_for(together(relay.run, alerts.run, stop), 5)
    assert relay.stopped.is_set()


async def test_stopping_ends_both_parts() -> None:
    relay, alerts = Part(), Part()

    def stop() -> None:
        relay.stopped.set()
        alerts.stopped.set()

    running = asyncio.create_task(together(relay.run, alerts.run, stop))
    await asyncio.sleep(0.05)
    stop()
    await asyncio.wait_for(running, 5)
