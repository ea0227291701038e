"""`studio-ledger sweep`: holds past their deadline expired, their generations failed (one sweeper leads)."""

from __future__ import annotations

import signal
import threading

from api.probes import beats_within, start_probes, store_answers
from api.processes import log_to_stderr
from service.bootstrap import build_ledger
from service.leader import Leadership, lock_for
from service.settings import Settings
from service.sweeper import Sweeper, SweepLoop, Swept


def run_sweep(*, loop: bool = False, interval: float = 15.0, health_port: int = 0) -> Swept:
    """Sweep once (or every ``interval`` seconds until SIGINT/SIGTERM with ``loop``); what the last sweep did.

    Only the process holding the sweeper's lock sweeps (see ``service.leader``); others stand by.
    """
    log_to_stderr()
    settings = Settings()
    ledger = build_ledger(settings)
    leadership = Leadership("sweeper", lock_for("sweeper", settings.store))
    probes = start_probes(health_port)
    stopping = threading.Event()
    try:
        sweeper = Sweeper(ledger)
        sweeps = SweepLoop(sweeper, interval=interval)
        if probes is not None:
            probes.ready["event store"] = store_answers(ledger)
            probes.info["role"] = lambda: leadership.role

        def stop(*_: object) -> None:
            stopping.set()
            sweeps.stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        if not loop:
            if not leadership.try_once():
                raise SystemExit("sweeper: another process holds the sweeper's lock and sweeps; nothing done")
            return sweeper.sweep()
        if not leadership.wait(stopping):
            return Swept()
        if probes is not None:  # a sweep of a long backlog may take a while: two minutes without a turn is stuck
            probes.live["sweep loop"] = beats_within(lambda: sweeps.turned, 120.0)
        leadership.watch(sweeps.stop_soon)
        sweeps.run()
        if leadership.lost.is_set():
            raise SystemExit("sweeper: lost its lock to another process; exiting to stand by")
        return sweeps.last
    finally:
        leadership.release()
        ledger.close()
        if probes is not None:
            probes.stop()
