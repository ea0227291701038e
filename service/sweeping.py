"""The sweeper's parts, built from the settings: overdue holds, images past their retention, recharges
driven to their end, alerts delivered, expiring credits told and auto top-ups started.

Part of the one composition root (``service.bootstrap`` builds the rest and calls these).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio
from sqlalchemy.engine import Engine

from ledger import Ledger
from media.ports import ImageStore
from service.alert_delivery import AlertDeliverer, ExpiryWatch
from service.platform import DemoWallet, HttpPlatformWallet, KafkaPlatformWallet, PlatformWallet
from service.policy import Policy
from service.recharges import RechargeDriver
from service.settings.parts import AlertWebhookSettings, PlatformSettings
from service.topups import TopUpWatch

if TYPE_CHECKING:  # c2pa's native library loads only in a process that signs
    from service.sweeper import Sweeper

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MoneyParts:
    """The sweeper's money-loop parts: recharges and auto top-ups (with a platform), alerts' delivery (with a
    webhook) and expiring credits told."""

    recharges: RechargeDriver | None = None
    alerts: AlertDeliverer | None = None
    expiring: ExpiryWatch | None = None
    topups: TopUpWatch | None = None


def build_sweeper(ledger: Ledger, *, retention: timedelta | None, images: Callable[[], ImageStore],
                  clock: Clock | None = None, money: MoneyParts | None = None) -> Sweeper:
    """The sweeper: overdue holds, with a ``retention`` period the images never shared that are older
    (deleted from the image store ``images()`` builds, only then), and the money loop's tracked parts."""
    from service.sweeper import Sweeper

    m = money or MoneyParts()
    if retention is None:
        return Sweeper(ledger, clock=clock or _now, recharges=m.recharges, alerts=m.alerts, expiring=m.expiring,
                       topups=m.topups)
    store = images()

    def purge(storage_id: str) -> None:  # in the sweeper's own thread: no event loop to wait on
        anyio.run(store.delete, storage_id)

    return Sweeper(ledger, clock=clock or _now, retention=retention, purge=purge, recharges=m.recharges,
                   alerts=m.alerts, expiring=m.expiring, topups=m.topups)


def money_parts(*, platform_settings: PlatformSettings, hook: AlertWebhookSettings, ledger: Ledger,
                platform: PlatformWallet | None, engine: Engine, policy: Policy, clock: Clock) -> MoneyParts:
    """The money loop's parts of the sweeper, from the settings."""
    recharges = recharge_driver(platform_settings, ledger, platform, clock) if platform else None
    return MoneyParts(recharges=recharges, alerts=alert_deliverer(hook, engine, clock),
                      expiring=ExpiryWatch(engine, within=timedelta(days=policy.alerts.expiring_within_days)),
                      topups=TopUpWatch(ledger, policy, timedelta(seconds=platform_settings.recharge_deadline_s),
                                        clock) if recharges else None)


def build_platform(settings: PlatformSettings, policy: Policy, embedded: bool) -> PlatformWallet | None:
    """The platform's wallet: over Kafka with ``STUDIO_PLATFORM_TRANSPORT=kafka``, over HTTP at
    ``STUDIO_PLATFORM_URL``; else, on the embedded default only, the
    demo wallet (a deployment without the platform takes no recharges rather than demo money)."""
    if settings.platform_transport == "kafka":
        return KafkaPlatformWallet()
    if settings.platform_url:
        return HttpPlatformWallet(base_url=settings.platform_url, secret=settings.platform_secret.get_secret_value(),
                                  timeout_s=settings.platform_timeout_s)
    if embedded:
        return DemoWallet(start_minor=settings.platform_demo_balance_minor, currency=policy.redemption.currency)
    return None


def recharge_driver(settings: PlatformSettings, ledger: Ledger, platform: PlatformWallet,
                    clock: Clock) -> RechargeDriver:
    """The tracked process that drives recharges to their end (run by the sweeper)."""
    return RechargeDriver(ledger, platform, attempts=settings.recharge_attempts,
                          retry=timedelta(seconds=settings.recharge_retry_s), clock=clock)


def alert_deliverer(settings: AlertWebhookSettings, engine: Engine, clock: Clock) -> AlertDeliverer | None:
    """The alerts' webhook delivery (run by the sweeper), when ``STUDIO_ALERT_WEBHOOK_URL`` is set."""
    if not settings.alert_webhook_url:
        return None
    return AlertDeliverer(engine, url=settings.alert_webhook_url,
                          secret=settings.alert_webhook_secret.get_secret_value(),
                          timeout_s=settings.alert_webhook_timeout_s, attempts=settings.alert_webhook_attempts,
                          retry=timedelta(seconds=settings.alert_webhook_retry_s), clock=clock)
