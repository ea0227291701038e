"""`studio-ledger sweep`: holds past their deadline expired, their generations failed (one sweeper leads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.probes import beats_within
from api.processes import log_to_stderr
from api.processes.leading import lead
from service.alert_delivery import ExpiryWatch
from service.bootstrap import (
    alert_deliverer,
    build_ledger,
    build_platform,
    build_policy,
    build_read_engine,
    recharge_driver,
)
from service.leader import lock_for
from service.settings import Settings
from service.settings.parts import AlertWebhookSettings, PlatformSettings
from service.sweeper import Sweeper, SweepLoop, Swept
from service.topups import TopUpWatch


def run_sweep(*, loop: bool = False, interval: float = 15.0, health_port: int = 0) -> Swept:
    """Sweep once (or every ``interval`` seconds until SIGINT/SIGTERM with ``loop``); what the last sweep did.

    Only the process holding the sweeper's lock sweeps (see ``service.leader``); others stand by.
    """
    log_to_stderr()
    settings = Settings()
    ledger = build_ledger(settings)
    platform_settings = PlatformSettings()
    policy = build_policy(settings)
    platform = build_platform(platform_settings, policy, settings.embedded)
    recharges = recharge_driver(platform_settings, ledger, platform, lambda: datetime.now(UTC)) if platform else None
    hook = AlertWebhookSettings()
    alerts = alert_deliverer(hook, build_read_engine(settings), lambda: datetime.now(UTC)) if (
        hook.alert_webhook_url) else None
    expiring = ExpiryWatch(build_read_engine(settings), within=timedelta(days=policy.alerts.expiring_within_days))
    topups = TopUpWatch(ledger, policy, timedelta(seconds=platform_settings.recharge_deadline_s),
                        lambda: datetime.now(UTC)) if recharges else None
    sweeper = Sweeper(ledger, recharges=recharges, alerts=alerts, expiring=expiring, topups=topups)
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
