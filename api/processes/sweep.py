"""`studio-ledger sweep`: holds past their deadline expired, their generations failed (one sweeper leads)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.probes import beats_within
from api.processes import log_to_stderr
from api.processes.leading import lead
from service.bootstrap import build_image_store, build_ledger, build_policy, build_read_engine
from service.leader import lock_for
from service.settings import Settings
from service.settings.parts import AlertWebhookSettings, PlatformSettings, RetentionSettings
from service.sweeper import SweepLoop, Swept
from service.sweeping import build_platform, build_sweeper, money_parts


def run_sweep(*, loop: bool = False, interval: float = 15.0, health_port: int = 0) -> Swept:
    """Sweep once (or every ``interval`` seconds until SIGINT/SIGTERM with ``loop``); what the last sweep did.

    Only the process holding the sweeper's lock sweeps (see ``service.leader``); others stand by.
    """
    log_to_stderr(process="sweep")
    settings = Settings()
    ledger = build_ledger(settings)
    platform_settings = PlatformSettings()
    policy = build_policy(settings)
    money = money_parts(platform_settings=platform_settings, hook=AlertWebhookSettings(), ledger=ledger,
                        platform=build_platform(platform_settings, policy, settings.embedded),
                        engine=build_read_engine(settings), policy=policy, clock=lambda: datetime.now(UTC))
    # The image store (and the pipeline's settings it needs) only when images are deleted after a retention period.
    sweeper = build_sweeper(ledger, retention=RetentionSettings().unshared_image_retention(),
                            images=lambda: build_image_store(settings), money=money)
    sweeps = SweepLoop(sweeper, interval=interval)

    def sweep_until_stopped() -> Swept:
        sweeps.run()
        return sweeps.last

    swept = lead("sweeper", lock_for("sweeper", settings.store), sweep_until_stopped if loop else sweeper.sweep,
                 sweeps.stop, on_lost=sweeps.stop_soon, store=ledger, close=ledger.close, health_port=health_port,
                 # a sweep of a long backlog may take a while: two minutes without a turn is stuck
                 live={"sweep loop": beats_within(lambda: sweeps.turned, 120.0)},
                 busy=None if loop else "another process holds the sweeper's lock and sweeps; nothing done")
    return swept if swept is not None else Swept()
