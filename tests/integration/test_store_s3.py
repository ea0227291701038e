"""The S3-compatible store against moto's S3 server on loopback."""

from __future__ import annotations

import io
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from media.errors import StorageError
from media.image_stores.s3 import S3Store
from media.ports import ImageResult, Upload

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"gallery-{uuid.uuid4().hex[:10]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def store(endpoint: str, bucket: str) -> S3Store:
    return S3Store(bucket=bucket, endpoint_url=endpoint, region="us-east-1", access_key="test",
                   secret_key="test", public_url=f"https://img.example/{bucket}")


def image(provider: str = "stability") -> ImageResult:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "teal").save(out, format="PNG")
    return ImageResult(data=out.getvalue(), content_type="image/png", provider=provider, model="sd3.5-large",
                       seed=42, timings={"model": 3.5})


async def test_put_uploads_image_thumbnail_and_metadata_and_find_reads_them_back(endpoint: str, bucket: str) -> None:
    target = store(endpoint, bucket)
    assert await target.find("gen-1") is None
    kept = await target.put("gen-1", image(), ("poster",))
    name = kept.url.removeprefix(f"https://img.example/{bucket}/gallery/").removesuffix(".png")
    assert "gen-1" not in name and len(name) == 24  # an unguessable object name
    assert kept.thumbnail_url == f"https://img.example/{bucket}/gallery/{name}_thumb.jpg"
    assert (kept.provider, kept.model, kept.seed, kept.timings) == ("stability", "sd3.5-large", 42, {"model": 3.5})
    assert await target.find("gen-1") == kept
    client = s3_client(endpoint)
    assert client.get_object(Bucket=bucket, Key=f"gallery/{name}.png")["Body"].read() == image().data
    thumb = client.get_object(Bucket=bucket, Key=f"gallery/{name}_thumb.jpg")
    assert thumb["ContentType"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb["Body"].read())) as small:
        assert small.size == (400, 300)  # whole and never enlarged (a 400x300 image is under the 640 px bound)


async def test_objects_stay_private_and_are_read_through_presigned_urls_that_expire(
        endpoint: str, bucket: str) -> None:
    target = S3Store(bucket=bucket, endpoint_url=endpoint, region="us-east-1", access_key="test", secret_key="test")
    kept = await target.put("gen-4", image())
    grants = s3_client(endpoint).get_object_acl(Bucket=bucket, Key=kept.url.split(f"/{bucket}/", 1)[1])["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"] and all(
        "URI" not in g["Grantee"] for g in grants)  # no grant to AllUsers or AuthenticatedUsers
    signed = target.signed_url(kept.url, 300)
    query = parse_qs(urlsplit(signed).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Signature"][0]
    assert httpx.get(signed).content == image().data
    unsigned = f"{endpoint}/{bucket}/{kept.url.split(f'/{bucket}/', 1)[1]}"
    assert httpx.get(unsigned).status_code == 403  # the bucket answers no anonymous read
    # moto checks neither SigV4 signatures nor X-Amz-Expires, so a forged or expired URL is S3's to refuse
    assert target.signed_url("https://elsewhere.example/x.png", 300) == "https://elsewhere.example/x.png"


async def test_uploads_are_private_per_owner_and_can_be_deleted(endpoint: str, bucket: str) -> None:
    target = store(endpoint, bucket)
    now = datetime.now(UTC)
    photo = Upload(upload_id="up-1", owner="ana", content_type="image/png", width=400, height=300,
                   created_at=now, expires_at=now + timedelta(hours=1), data=image().data)
    await target.put_upload(photo)
    assert await target.read_upload("ana", "up-1") == photo
    assert await target.read_upload("bob", "up-1") is None
    assert [u.upload_id for u in await target.uploads("ana")] == ["up-1"] and await target.uploads("bob") == []
    await target.delete_upload("ana", "up-1")
    assert await target.read_upload("ana", "up-1") is None and await target.uploads() == []


async def test_a_second_put_returns_the_first_image_unchanged(endpoint: str, bucket: str) -> None:
    target = store(endpoint, bucket)
    first = await target.put("gen-2", image())
    assert await target.put("gen-2", image(provider="openai")) == first


async def test_a_missing_bucket_is_a_storage_error(endpoint: str) -> None:
    with pytest.raises(StorageError):
        await store(endpoint, "no-such-bucket").put("gen-3", image())


async def test_deleting_an_image_removes_it_its_thumbnail_and_its_marker(endpoint: str, bucket: str) -> None:
    target = store(endpoint, bucket)
    await target.put("gen-5", image())
    await target.delete("gen-5")
    assert await target.find("gen-5") is None
    assert s3_client(endpoint).list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    await target.delete("gen-5")  # gone already: nothing to do
