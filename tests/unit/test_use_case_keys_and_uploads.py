"""Idempotency keys and uploads as the use cases see them: the idempotency table in an in-memory SQLite
database, the local image store in a temporary folder, a fixed clock."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from PIL import Image

from generation.ports import Upload
from generation.stores.local import LocalStore
from projections.db import make_engine
from service.commands import Answer, Commands, caller
from service.errors import IdempotencyKeyReused, InvalidIdempotencyKey, UploadQuotaExceeded, UploadRefused
from service.idempotency import IdempotencyStore, check_key
from service.metrics import Metrics
from service.uploads import check_size, store_upload
from tests.conftest import T0

pytestmark = pytest.mark.unit


@pytest.fixture
def commands() -> Iterator[Commands]:
    """Commands keeping their answers in an in-memory idempotency table."""
    engine = make_engine("sqlite://")
    store = IdempotencyStore(engine)
    store.setup()
    yield Commands(Metrics(), lambda _: None, store)
    engine.dispose()


class Counting:
    """An answer that counts how often it was computed."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self) -> Answer:
        self.calls += 1
        if self.fail:
            raise ValueError("refused")
        return 201, {"n": self.calls}


def test_the_same_request_under_a_key_gets_the_first_answer(commands: Commands) -> None:
    answer = Counting()
    first = commands.once(caller("alice"), "k", {"body": 1}, answer)
    again = commands.once(caller("alice"), "k", {"body": 1}, answer)
    assert first == again == (201, {"n": 1}) and answer.calls == 1


def test_keys_are_kept_per_scope(commands: Commands) -> None:
    answer = Counting()
    commands.once(caller("alice"), "k", {"body": 1}, answer)
    assert commands.once(caller("bob"), "k", {"body": 2}, answer) == (201, {"n": 2})


def test_another_request_under_a_used_key_is_refused(commands: Commands) -> None:
    commands.once(caller("alice"), "k", {"body": 1}, Counting())
    answer = Counting()
    with pytest.raises(IdempotencyKeyReused, match="'k' was already used with another request"):
        commands.once(caller("alice"), "k", {"body": 2}, answer)
    assert answer.calls == 0


def test_a_failed_request_keeps_nothing_so_a_retry_runs_again(commands: Commands) -> None:
    with pytest.raises(ValueError, match="refused"):
        commands.once(caller("alice"), "k", {"body": 1}, Counting(fail=True))
    assert commands.once(caller("alice"), "k", {"body": 1}, Counting()) == (201, {"n": 1})


@pytest.mark.parametrize("key", ["", "has space", "é", "x" * 201])
def test_a_key_must_be_1_to_200_visible_ascii_characters(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        check_key(key)
    assert check_key("6f1c2d3e-generate-poster-1") == "6f1c2d3e-generate-poster-1"


def test_an_empty_or_oversized_file_is_refused_before_decoding() -> None:
    with pytest.raises(UploadRefused, match="the file is empty"):
        check_size(b"", 10)
    with pytest.raises(UploadRefused, match="more than 10 bytes"):
        check_size(b"x" * 11, 10)
    check_size(b"x" * 10, 10)


def png(side: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), "#336699").save(out, format="PNG")
    return out.getvalue()


def keep(store: LocalStore, data: bytes, *, in_use: set[str] | None = None, quota: int = 2,
         minutes: int = 0) -> Upload:
    """``store_upload`` as the route calls it, from a worker thread, ``minutes`` after T0."""
    rules: dict[str, Any] = {"max_bytes": 1_000_000, "max_pixels": 10_000_000, "quota": quota,
                             "ttl": timedelta(minutes=30)}

    def call() -> Upload:
        return store_upload(store, "alice", data, in_use=lambda: in_use or set(), now=T0 + timedelta(minutes=minutes),
                            **rules)

    return anyio.run(anyio.to_thread.run_sync, call)


def test_a_photo_is_kept_re_encoded_and_private_to_its_owner(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    kept = keep(store, png())
    assert (kept.owner, kept.content_type, kept.width, kept.expires_at) == ("alice", "image/png", 32,
                                                                          T0 + timedelta(minutes=30))
    assert [u.upload_id for u in anyio.run(store.uploads, "alice")] == [kept.upload_id]
    assert anyio.run(store.uploads, "bob") == []


def test_a_file_that_is_no_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UploadRefused):
        keep(LocalStore(tmp_path), b"not an image at all")


def test_past_the_quota_the_wait_until_the_oldest_expires_is_named(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    keep(store, png())
    keep(store, png(), minutes=10)
    with pytest.raises(UploadQuotaExceeded) as refused:
        keep(store, png(), minutes=20)
    assert (refused.value.kept, refused.value.quota, refused.value.retry_after) == (2, 2, 600)


def test_expired_uploads_make_room_unless_a_generation_needs_them(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    old = keep(store, png())
    keep(store, png(), minutes=10)
    with pytest.raises(UploadQuotaExceeded):
        keep(store, png(), minutes=31, in_use={old.upload_id})
    keep(store, png(), minutes=31)
    assert old.upload_id not in {u.upload_id for u in anyio.run(store.uploads, "alice")}
