"""The one composition root: every process builds what it uses here, from one ``Settings`` tree.

Each builder takes the settings and, optionally, collaborators already built (a ledger, an image model,
an image store, a clock...), so tests pass fakes and processes share what they built.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from generation.handler import GenerationHandler
from generation.inputs import InputPhotos
from generation.models.router import ModelRouter
from generation.ports import ImageModel, ImageStore
from generation.templates import Catalog, TemplateError, load_catalog
from generation.threads import Lane
from ledger import Ledger
from projections import Projector, all_projections
from projections.db import make_engine
from projections.watcher import Watcher
from service.alert_delivery import AlertDeliverer, ExpiryWatch
from service.auth import TokenVerifier
from service.container import Service
from service.health import Health
from service.idempotency import IdempotencyStore
from service.limits import Limits
from service.platform import DemoWallet, HttpPlatformWallet, PlatformWallet
from service.policy import DEFAULT_POLICY, Policy, check_share_bonus, load_policy
from service.recharges import RechargeDriver
from service.settings import GenerationSettings, Settings, StoreSettings
from service.settings.http import ApiSettings, UnsafeSettings, check_secrets
from service.settings.parts import AlertWebhookSettings, PlatformSettings
from service.settings.store import check_database
from service.topups import TopUpWatch

Clock = Callable[[], datetime]


def build_ledger(settings: Settings | StoreSettings | None = None) -> Ledger:
    """The ledger on the configured event store, with group commit when configured; ``StartupError``
    names a PostgreSQL database that is missing or out of reach."""
    store = _store(settings)
    check_database(store)
    return Ledger(
        store.event_store_env(),
        burn_order=store.burn_order,
        group_commit=store.group_commit,
        max_batch=store.group_commit_max_batch,
        linger=store.group_commit_linger_ms / 1000,
    )


def build_policy(settings: Settings | None = None) -> Policy:
    """The credits policy (packs, bonuses, expiries) from STUDIO_POLICY_FILE or the shipped default."""
    return load_policy((settings or Settings()).policy_file)


def build_read_engine(settings: Settings | None = None, **options: Any) -> Engine:
    """The read database's engine (``options``: the pool's, e.g. ``pool_size``)."""
    return make_engine((settings or Settings()).read_db_url, **options)


def build_projector(settings: Settings | None = None, *, ledger: Ledger | None = None) -> Projector:
    """Every projection over the ledger, writing to the read database, its tables created."""
    settings = settings or Settings()
    projector = Projector(ledger or build_ledger(settings), build_read_engine(settings), all_projections(
        low_balance_below=build_policy(settings).alerts.low_balance_below))
    projector.setup()
    return projector


def build_service(settings: Settings | None = None, *, ledger: Ledger | None = None, catalog: Catalog | None = None,
                  policy: Policy | None = None, image_model: ImageModel | None = None,
                  image_store: ImageStore | None = None, clock: Clock | None = None,
                  with_pipeline: bool = True) -> Service:
    """The API process's service; refuses unsafe settings before building anything. On the embedded
    default it also renders generations in process, purges unused uploads and sweeps overdue holds."""
    settings = settings or Settings()
    api, store, media = settings.http, settings.store, settings.generation
    clock = clock or _now
    check_secrets(api, embedded=settings.embedded)
    weak = media.weak_media_key(embedded=settings.embedded)
    if weak:
        raise UnsafeSettings(weak)
    catalog = catalog or load_catalog(media.templates_dir)
    ledger = ledger or build_ledger(settings)
    engine = build_read_engine(settings)
    images = image_store or build_image_store(media)
    policy = policy or build_policy(settings)
    projector = Projector(ledger, engine, all_projections(low_balance_below=policy.alerts.low_balance_below))
    watcher = Watcher(projector, engine, lambda: ledger.recorder.max_notification_id() or 0, api)
    kafka = settings.messaging if api.dispatch == "kafka" else None
    health = Health(ledger, engine, watcher.projected, api.ready_max_lag,
                    kafka_servers=kafka.kafka_bootstrap_servers if kafka else None,
                    relay_name=kafka.relay_name if kafka else "relay")
    check_share_bonus(policy, {t.id: t.cost for t in catalog.all()}, source=settings.policy_file or DEFAULT_POLICY)
    service = Service(api=api, store=store, ledger=ledger, engine=engine, projector=projector, catalog=catalog,
                      policy=policy, watcher=watcher, health=health,
                      idempotency=IdempotencyStore(engine), verifier=build_verifier(api), images=images, media=media,
                      limits=Limits.of(api), clock=clock, platform=build_platform(api, policy, settings.embedded),
                      recharge_deadline=timedelta(seconds=api.recharge_deadline_s))
    if with_pipeline and api.run_pipeline and api.dispatch == "inprocess":
        service.pipeline = _pipeline(settings, ledger, catalog, image_model or build_image_model(media), images,
                                     clock)
    if with_pipeline and media.upload_purge_interval_s > 0:
        from service.uploads import UploadPurger

        service.purger = UploadPurger(images, lambda: uploads_in_use_at_head(engine, watcher, api.read_wait_ms),
                                      clock, media.upload_purge_interval_s)
    if with_pipeline and api.run_sweeper:
        from service.sweeper import Sweeper, SweepLoop

        recharges = recharge_driver(api, ledger, service.platform, clock) if service.platform else None
        service.sweeper = SweepLoop(Sweeper(ledger, clock=clock, recharges=recharges,
                                            alerts=alert_deliverer(api, engine, clock),
                                            expiring=ExpiryWatch(engine, within=timedelta(
                                                days=policy.alerts.expiring_within_days)),
                                            topups=TopUpWatch(ledger, policy, service.recharge_deadline, clock)
                                            if recharges else None),
                                    interval=media.sweep_interval_s)
    return service


def build_platform(settings: PlatformSettings, policy: Policy, embedded: bool) -> PlatformWallet | None:
    """The platform's wallet: over HTTP at ``STUDIO_PLATFORM_URL``; else, on the embedded default only, the
    demo wallet (a deployment without the platform takes no recharges rather than demo money)."""
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


def _now() -> datetime:
    return datetime.now(UTC)


def build_verifier(api: ApiSettings) -> TokenVerifier:
    """The verifier of the callers' tokens: HS256 with the shared secret, or RS256 with keys from a JWKS URL."""
    return TokenVerifier(algorithm=api.jwt_algorithm, secret=api.jwt_secret.get_secret_value(),
                         issuer=api.jwt_issuer, audience=api.jwt_audience, jwks_url=api.jwks_url)


def uploads_in_use_at_head(engine: Engine, watcher: Watcher, wait_ms: int) -> set[str] | None:
    """The uploads that generations still to be rendered take, as of the ledger's head; None when the projections
    do not reach it within ``wait_ms`` (a generation accepted a moment ago may take any upload then)."""
    from projections.generations import uploads_in_use

    if not watcher.caught_up(wait_ms / 1000):
        return None
    with engine.connect() as conn:
        return uploads_in_use(conn)


def _pipeline(settings: Settings, ledger: Ledger, catalog: Catalog, model: ImageModel, images: ImageStore,
              clock: Clock) -> Any:
    from service.inprocess import InProcessPipeline

    store = settings.store
    position_file = None if store.store == "memory" else store.data_dir / "dispatch.position"
    fetcher = settings.generation.fetcher(allow_http=store.store != "postgres")
    return InProcessPipeline(ledger, catalog, model, images, position_file=position_file, clock=clock,
                             inputs=InputPhotos(images, fetcher))


def build_handler(settings: Settings | GenerationSettings | None = None, *, catalog: Catalog | None = None,
                  image_model: ImageModel | None = None, image_store: ImageStore | None = None) -> GenerationHandler:
    """The generation worker's handler: the checked catalog, the model and the store (no database)."""
    media = _media(settings)
    catalog = catalog or build_catalog(media)
    store = image_store or build_image_store(media)
    return GenerationHandler(catalog, image_model or build_image_model(media), store, media.retry_policy(),
                             inputs=InputPhotos(store, media.fetcher(allow_http=False)))


def _store(settings: Settings | StoreSettings | None) -> StoreSettings:
    if isinstance(settings, StoreSettings):
        return settings
    return (settings or Settings()).store


def _media(settings: Settings | GenerationSettings | None) -> GenerationSettings:
    if isinstance(settings, GenerationSettings):
        return settings
    return (settings or Settings()).generation


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def build_model(provider: str, settings: GenerationSettings) -> ImageModel:
    """The adapter for one provider, configured from ``settings``."""
    timeout = settings.model_timeout_s
    if provider == "replicate":
        from generation.models.replicate import ReplicateModel

        return ReplicateModel(_secret(settings.replicate_api_token), timeout=timeout,
                              model=settings.replicate_model, edit_model=settings.replicate_edit_model)
    if provider == "openai":
        from generation.models.openai import OpenAIModel

        return OpenAIModel(_secret(settings.openai_api_key), base_url=settings.openai_base_url, timeout=timeout,
                           model=settings.openai_model)
    if provider == "stability":
        from generation.models.stability import StabilityModel

        return StabilityModel(_secret(settings.stability_api_key), base_url=settings.stability_base_url,
                              timeout=timeout, model=settings.stability_model)
    if provider == "cog":
        from generation.models.cog import CogModel

        return CogModel(settings.cog_url or "", timeout=timeout, token=_secret(settings.cog_token) or None)
    if provider == "huggingface":
        from generation.models.huggingface import HuggingFaceModel

        return HuggingFaceModel(_secret(settings.huggingface_token), timeout=timeout,
                                inference_provider=settings.huggingface_inference_provider,
                                model=settings.huggingface_model)
    from generation.models.local import LocalModel

    return LocalModel(scale=settings.local_scale, delay=settings.local_delay_s)


def build_image_model(settings: Settings | GenerationSettings | None = None) -> ImageModel:
    """The configured model: one provider for every template, or each template's own; failing a
    fraction of calls when the drill settings ask for it."""
    settings = _media(settings)
    if settings.image_provider == "template":
        model: ImageModel = ModelRouter({p: build_model(p, settings) for p in settings.providers()})
    else:
        model = build_model(settings.image_provider, settings)
    if settings.model_failure_rate or settings.model_timeout_rate:
        from generation.models.flaky import FlakyModel

        model = FlakyModel(model, failure_rate=settings.model_failure_rate, timeout_rate=settings.model_timeout_rate)
    return model


def build_image_store(settings: Settings | GenerationSettings | None = None) -> ImageStore:
    """The configured image store."""
    settings = _media(settings)
    lane = Lane("store", settings.store_threads)
    if settings.image_store == "s3":
        from generation.stores.s3 import S3Store

        return S3Store(bucket=settings.s3_bucket or "", endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region, access_key=settings.s3_access_key_id or "",
                       secret_key=_secret(settings.s3_secret_access_key), public_url=settings.s3_public_url,
                       timeout=settings.store_timeout_s, lane=lane)
    if settings.image_store == "cloudinary":
        from generation.stores.cloudinary import CloudinaryStore

        return CloudinaryStore(cloud_name=settings.cloudinary_cloud_name or "",
                               api_key=settings.cloudinary_api_key or "",
                               api_secret=_secret(settings.cloudinary_api_secret), timeout=settings.store_timeout_s,
                               auth_token_key=_secret(settings.cloudinary_auth_token_key) or None, lane=lane)
    from generation.stores.local import LocalStore

    return LocalStore(settings.data_dir, signing_key=_secret(settings.media_signing_key), lane=lane)


def build_catalog(settings: Settings | GenerationSettings | None = None) -> Catalog:
    """The template catalog, validated (a bad file, or no way to set its text, stops start-up)."""
    check_typesetting()
    return load_catalog(_media(settings).templates_dir)


def check_typesetting() -> None:
    """Refuse to start without raqm shaping or an installed font: text would come out wrong or as boxes."""
    from generation.compositor import fonts

    if not fonts.shaping_available():
        raise TemplateError("Pillow was built without raqm (libraqm): Devanagari, Tamil and Telugu text cannot "
                            "be shaped; install Pillow's wheel from PyPI")
    for script, roles in fonts.FONTS.items():
        for role in roles:
            try:
                found = fonts.font_path(script, role).is_file()
            except ModuleNotFoundError:
                found = False
            if not found:
                raise TemplateError(f"no {script} {role} font: install the project's font packages "
                                    f"({roles[role][0].replace('_', '-')})")
