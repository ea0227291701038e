"""Pipeline settings: a missing key stops start-up naming the variable; the bootstrap wires what is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from media.image_stores.cloudinary import CloudinaryStore
from media.image_stores.local import LocalStore
from media.image_stores.s3 import S3Store
from media.models.cog import CogModel
from media.models.local import LocalModel
from media.models.openai import OpenAIModel
from media.models.router import ModelRouter
from service.bootstrap import build_catalog, build_image_model, build_image_store
from service.settings.media import MediaSettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("STUDIO_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("provider", "variable"), [
    ("openai", "STUDIO_OPENAI_API_KEY"),
    ("replicate", "STUDIO_REPLICATE_API_TOKEN"),
    ("stability", "STUDIO_STABILITY_API_KEY"),
    ("cog", "STUDIO_COG_URL"),
    ("huggingface", "STUDIO_HUGGINGFACE_TOKEN"),
])
def test_a_provider_without_its_key_fails_at_start_up_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, provider: str, variable: str) -> None:
    monkeypatch.setenv("STUDIO_IMAGE_PROVIDER", provider)
    with pytest.raises(ValidationError, match=variable):
        MediaSettings()


def test_per_template_providers_need_every_key_they_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_IMAGE_PROVIDER", "template")
    monkeypatch.setenv("STUDIO_TEMPLATE_PROVIDERS", "openai,cog,local")
    monkeypatch.setenv("STUDIO_OPENAI_API_KEY", "sk-test")
    with pytest.raises(ValidationError, match="STUDIO_COG_URL") as caught:
        MediaSettings()
    assert "OPENAI" not in str(caught.value)
    monkeypatch.setenv("STUDIO_COG_URL", "http://127.0.0.1:5000")
    model = build_image_model(MediaSettings())
    assert isinstance(model, ModelRouter)
    assert {k: type(v) for k, v in model.models.items()} == {"openai": OpenAIModel, "cog": CogModel,
                                                             "local": LocalModel}


def test_a_store_without_its_credentials_fails_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_IMAGE_STORE", "s3")
    monkeypatch.setenv("STUDIO_S3_BUCKET", "gallery")
    with pytest.raises(ValidationError, match="STUDIO_S3_ACCESS_KEY_ID, STUDIO_S3_SECRET_ACCESS_KEY"):
        MediaSettings()
    monkeypatch.setenv("STUDIO_IMAGE_STORE", "cloudinary")
    with pytest.raises(ValidationError, match="STUDIO_CLOUDINARY_API_KEY"):
        MediaSettings()


def test_the_embedded_default_is_the_local_model_and_local_files(tmp_path: Path) -> None:
    settings = MediaSettings(data_dir=tmp_path)
    assert isinstance(build_image_model(settings), LocalModel)
    store = build_image_store(settings)
    assert isinstance(store, LocalStore) and store.root == tmp_path / "media"
    assert len(build_catalog(settings).all()) >= 12


def test_configured_stores_are_built_from_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = MediaSettings(image_store="s3", s3_bucket="gallery", s3_access_key_id="id",
                            s3_secret_access_key="secret", s3_endpoint_url="http://127.0.0.1:9000")
    built = build_image_store(s3)
    assert isinstance(built, S3Store) and built.public_url == "http://127.0.0.1:9000/gallery"
    cloud = MediaSettings(image_store="cloudinary", cloudinary_cloud_name="demo", cloudinary_api_key="k",
                               cloudinary_api_secret="s")
    assert isinstance(build_image_store(cloud), CloudinaryStore)


def test_secrets_do_not_show_in_the_settings_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_IMAGE_PROVIDER", "openai")
    monkeypatch.setenv("STUDIO_OPENAI_API_KEY", "sk-very-secret")
    assert "sk-very-secret" not in repr(MediaSettings())


def test_the_hugging_face_provider_is_built_with_its_token_model_and_inference_provider(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from media.models.huggingface import HuggingFaceModel

    monkeypatch.setenv("STUDIO_IMAGE_PROVIDER", "huggingface")
    monkeypatch.setenv("STUDIO_HUGGINGFACE_TOKEN", "hf_secret")
    monkeypatch.setenv("STUDIO_HUGGINGFACE_INFERENCE_PROVIDER", "fal-ai")
    model = build_image_model(MediaSettings())
    assert isinstance(model, HuggingFaceModel)
    assert model.client.provider == "fal-ai" and model.client.token == "hf_secret" and model.model is None
