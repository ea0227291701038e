"""Idempotency keys and uploads as the use cases see them: the idempotency table in an in-memory SQLite
database, the local image store in a temporary folder, a fixed clock."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from media.image_stores.local import LocalStore
from media.ports import Upload
from projections.db import make_engine
from service.commands import Answer, Commands, caller
from service.errors import IdempotencyKeyReused, InvalidIdempotencyKey, UploadQuotaExceeded, UploadRefused
from service.idempotency import IdempotencyStore, check_key
from service.limits import Limits
from service.metrics import Metrics
from service.settings.api import ApiSettings
from service.settings.media import MediaSettings
from service.uploads import MAX_SIDE, check_size, store_upload
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


def test_concurrent_requests_under_one_key_do_their_work_once(commands: Commands) -> None:
    calls: list[int] = []
    answers: list[Answer] = []

    async def answer() -> Answer:  # an upload: its work (keeping the photo) is not idempotent by itself
        calls.append(len(calls) + 1)
        await anyio.sleep(0.05)
        return 201, {"n": len(calls)}

    async def one() -> None:
        answers.append(await commands.once_async(caller("alice"), "k", {"body": 1}, answer))

    async def both() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(one)
            group.start_soon(one)

    anyio.run(both)
    assert calls == [1] and answers == [(201, {"n": 1})] * 2


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
    """``store_upload`` as the route awaits it, ``minutes`` after T0."""
    rules: dict[str, Any] = {"max_bytes": 1_000_000, "max_pixels": 10_000_000, "quota": quota,
                             "ttl": timedelta(minutes=30), "limits": Limits.of(ApiSettings())}
    return anyio.run(partial(store_upload, store, "alice", data, in_use=lambda: in_use or set(),
                             now=T0 + timedelta(minutes=minutes), **rules))


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


def forged_png(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` pixels (its data is 8x8's: it cannot decode)."""
    small = png(8)
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return small[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + small[33:]


def test_a_file_declaring_more_pixels_than_the_cap_is_refused_without_decoding(tmp_path: Path) -> None:
    cap = MediaSettings().upload_max_pixels
    assert cap <= (2 * MAX_SIDE) ** 2  # twice the side a template uses, no more
    started = time.process_time()  # CPU time, all threads: decoding 40 million pixels would take seconds of it
    with pytest.raises(UploadRefused, match="6300x6300 pixels"):
        anyio.run(partial(store_upload, LocalStore(tmp_path), "alice", forged_png(6300, 6300), in_use=set,
                          now=T0, max_bytes=1_000_000, max_pixels=cap, quota=5, ttl=timedelta(minutes=30),
                          limits=Limits.of(ApiSettings())))
    assert time.process_time() - started < 0.5


def test_the_quota_is_checked_before_the_file_is_decoded(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    keep(store, png())
    keep(store, png(), minutes=1)
    with pytest.raises(UploadQuotaExceeded):  # not "not an image": nothing was decoded for an owner at quota
        keep(store, forged_png(64, 64), minutes=2)


def test_concurrent_uploads_at_the_edge_of_the_quota_keep_no_more_than_the_quota(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    for n in range(18):
        keep(store, png(), quota=20, minutes=n)
    outcomes: list[str] = []

    async def upload_one() -> None:
        try:
            await store_upload(store, "alice", png(), in_use=set, now=T0 + timedelta(minutes=20), max_bytes=1_000_000,
                               max_pixels=10_000_000, quota=20, ttl=timedelta(minutes=30), limits=limits)
            outcomes.append("kept")
        except UploadQuotaExceeded:
            outcomes.append("refused")

    async def burst() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(upload_one)

    limits = Limits.of(ApiSettings())
    anyio.run(burst)
    assert sorted(outcomes) == ["kept"] * 2 + ["refused"] * 4
    assert len(anyio.run(store.uploads, "alice")) == 20


class OtherReplica(LocalStore):
    """The local store, with another API replica keeping an upload of the same owner while ours is kept."""

    async def put_upload(self, upload: Upload) -> None:
        await super().put_upload(upload)
        if not upload.upload_id.startswith("other-"):
            other = png()
            await super().put_upload(Upload(**{**upload.__dict__, "upload_id": f"other-{upload.upload_id}",
                                               "data": other}))


def test_an_upload_kept_by_another_replica_meanwhile_is_not_passed_over_the_quota(tmp_path: Path) -> None:
    store = OtherReplica(tmp_path)
    keep(store, png(), quota=3)
    with pytest.raises(UploadQuotaExceeded):  # checked at 2 of 3, but the other replica took the last one
        keep(store, png(), quota=3, minutes=1)
    assert len(anyio.run(store.uploads, "alice")) == 3
