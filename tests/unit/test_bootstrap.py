"""The one bootstrap builds the service from one settings tree, with fakes wired in where given."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from PIL import Image
from pydantic import ValidationError

from ledger import Money
from media.ports import ImageRequest, ImageResult, StoredImage, Upload, UploadInfo
from projections.watcher import PositionBeyondHead, ProjectionBehind
from service.bootstrap import build_service
from service.container import Service
from service.settings import ApiSettings, MediaSettings, Settings, StoreSettings

pytestmark = pytest.mark.unit
NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


class FakeModel:
    """Paints a plain image of the size asked for, and counts the calls."""

    def __init__(self) -> None:
        self.requests: list[ImageRequest] = []

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.requests.append(request)
        out = io.BytesIO()
        Image.new("RGB", request.model_size, (40, 90, 160)).save(out, format="PNG")
        return ImageResult(out.getvalue(), "image/png", "fake", "fake-1", seed=7)

    async def aclose(self) -> None:
        pass


class FakeStore:
    """Keeps images and uploads in dictionaries."""

    def __init__(self) -> None:
        self.images: dict[str, StoredImage] = {}
        self.kept_uploads: dict[tuple[str, str], Upload] = {}

    async def find(self, storage_id: str) -> StoredImage | None:
        return self.images.get(storage_id)

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        return self.images.setdefault(storage_id, StoredImage(
            f"/fake/{storage_id}.png", storage_id, f"/fake/{storage_id}.thumb.png", image.provider, image.model,
            image.seed, image.timings))

    def signed_url(self, url: str, ttl: int) -> str:
        return f"{url}?ttl={ttl}"

    async def put_upload(self, upload: Upload) -> None:
        self.kept_uploads[(upload.owner, upload.upload_id)] = upload

    async def read_upload(self, owner: str, upload_id: str) -> Upload | None:
        return self.kept_uploads.get((owner, upload_id))

    async def uploads(self, owner: str | None = None) -> list[UploadInfo]:
        return [u for (o, _), u in self.kept_uploads.items() if owner is None or o == owner]

    async def delete_upload(self, owner: str, upload_id: str) -> None:
        self.kept_uploads.pop((owner, upload_id), None)


def settings(tmp_path: Path, **api: object) -> Settings:
    """The memory store, its read tables in memory too, nothing read from the environment."""
    return Settings(store=StoreSettings(backend="memory", data_dir=tmp_path),
                    api=ApiSettings(**api),  # type: ignore[arg-type]
                    media=MediaSettings(data_dir=tmp_path))


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def service(tmp_path: Path, model: FakeModel, store: FakeStore) -> Iterator[Service]:
    built = build_service(settings(tmp_path, read_wait_ms=0), image_model=model, image_store=store,
                          clock=lambda: NOW)
    built.projector.setup()
    yield built
    built.ledger.close()
    built.engine.dispose()


def test_the_service_uses_the_fakes_and_the_clock_it_was_given(service: Service, store: FakeStore) -> None:
    assert service.images is store
    assert service.clock() == NOW
    assert service.purger is not None and service.purger.clock() == NOW
    assert service.sweeper is not None and service.sweeper.sweeper.clock() == NOW


def test_the_embedded_pipeline_renders_with_the_fake_model_into_the_fake_store(
        service: Service, model: FakeModel, store: FakeStore) -> None:
    service.ledger.purchase(user_id="ana", payment_id="pay-1", pack_id="starter", amount=10,
                            price=Money(1000, "INR"), at=NOW)
    outcome = service.ledger.request_generation(
        user_id="ana", request_key="k1", template_id="teaser-banner", template_version=1,
        variables={"event": "Data Day", "date": "May 3"}, input_image=None, cost=3, at=NOW)
    assert service.pipeline is not None and service.pipeline.run_once() == 1
    generation = service.ledger.generation(UUID(str(outcome.value)))
    assert generation is not None and generation.status == "completed" and generation.captured == 3
    assert len(model.requests) == 1 and generation.image_url.startswith("/fake/")
    assert [image.provider for image in store.images.values()] == ["fake"]


def test_a_read_waits_for_nothing_it_has_and_names_a_position_never_returned(service: Service) -> None:
    assert asyncio.run(service.reach(None)) == 0
    with pytest.raises(PositionBeyondHead) as beyond:
        asyncio.run(service.reach(5))
    assert (beyond.value.position, beyond.value.head) == (5, 0)


def test_a_read_of_a_position_not_yet_projected_is_behind(service: Service) -> None:
    outcome = service.ledger.purchase(user_id="ana", payment_id="pay-1", pack_id="starter", amount=10,
                                      price=Money(1000, "INR"), at=NOW)
    service.saw(outcome.position)
    with pytest.raises(ProjectionBehind) as behind:
        asyncio.run(service.reach(outcome.position))
    assert (behind.value.position, behind.value.reached) == (outcome.position, 0)
    service.projector.catch_up()
    assert asyncio.run(service.reach(outcome.position)) == outcome.position


def test_a_read_that_found_nothing_settles_at_the_ledgers_head_as_it_is_now(service: Service) -> None:
    assert asyncio.run(service.settle()) == 0  # an empty ledger: at its head already
    outcome = service.ledger.purchase(user_id="ana", payment_id="pay-1", pack_id="starter", amount=10,
                                      price=Money(1000, "INR"), at=NOW)  # no position noted: nobody passed it on
    with pytest.raises(ProjectionBehind) as behind:
        asyncio.run(service.settle())
    assert (behind.value.position, behind.value.reached) == (outcome.position, 0)
    service.projector.catch_up()
    assert asyncio.run(service.settle()) == outcome.position


def test_one_settings_tree_reads_a_shared_variable_once_for_every_part(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STUDIO_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092, kafka-2:9092")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    tree = Settings()
    assert tree.messaging.kafka_bootstrap_servers == tree.media.kafka_bootstrap_servers == \
        "kafka-1:9092,kafka-2:9092"
    assert tree.store.data_dir == tree.media.data_dir == tmp_path
    assert tree.read_db_url == f"sqlite:///{tmp_path / 'read.db'}" and tree.embedded


def test_a_consumer_reads_the_policy_file_without_reading_the_api_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STUDIO_POLICY_FILE", str(tmp_path / "policy.toml"))
    monkeypatch.setenv("STUDIO_CHECKOUT_URL", "not a url")  # the API would refuse to start on this
    tree = Settings()
    assert tree.messaging.policy_file == tree.policy_file == tmp_path / "policy.toml"
    with pytest.raises(ValidationError, match="checkout_url"):
        tree.api  # noqa: B018 (reading the part is the test)


def test_the_media_part_keeps_the_data_folder_of_a_store_given(tmp_path: Path) -> None:
    tree = Settings(store=StoreSettings(backend="sqlite", data_dir=tmp_path / "here"))
    assert tree.media.data_dir == tmp_path / "here"
    assert Settings(store=StoreSettings(backend="sqlite"), api=ApiSettings(dispatch="kafka")).embedded is False
