"""The generation pipeline's composition root: the configured model, store and catalog."""

from __future__ import annotations

from pydantic import SecretStr

from generation.models.router import ModelRouter
from generation.ports import ImageModel, ImageStore
from generation.settings import GenerationSettings
from generation.templates import Catalog, TemplateError, load_catalog


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


def build_image_model(settings: GenerationSettings) -> ImageModel:
    """The configured model: one provider for every template, or each template's own."""
    if settings.image_provider == "template":
        return ModelRouter({p: build_model(p, settings) for p in settings.providers()})
    return build_model(settings.image_provider, settings)


def build_image_store(settings: GenerationSettings) -> ImageStore:
    """The configured image store."""
    if settings.image_store == "s3":
        from generation.stores.s3 import S3Store

        return S3Store(bucket=settings.s3_bucket or "", endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region, access_key=settings.s3_access_key_id or "",
                       secret_key=_secret(settings.s3_secret_access_key), public_url=settings.s3_public_url,
                       timeout=settings.store_timeout_s)
    if settings.image_store == "cloudinary":
        from generation.stores.cloudinary import CloudinaryStore

        return CloudinaryStore(cloud_name=settings.cloudinary_cloud_name or "",
                               api_key=settings.cloudinary_api_key or "",
                               api_secret=_secret(settings.cloudinary_api_secret), timeout=settings.store_timeout_s,
                               auth_token_key=_secret(settings.cloudinary_auth_token_key) or None)
    from generation.stores.local import LocalStore

    return LocalStore(settings.data_dir, signing_key=_secret(settings.media_signing_key))


def build_catalog(settings: GenerationSettings) -> Catalog:
    """The template catalog, validated (a bad file, or no way to set its text, stops start-up)."""
    check_typesetting()
    return load_catalog(settings.templates_dir)


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
