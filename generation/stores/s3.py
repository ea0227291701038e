"""S3-compatible object storage (AWS S3, MinIO, R2, Supabase Storage): one adapter, endpoint by settings."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from generation.errors import StorageError
from generation.ports import ImageResult, StoredImage
from generation.stores.local import safe_id
from generation.stores.thumbnails import extension, metadata, stored, thumbnail


class S3Store:
    """Keeps ``<prefix><id>.<ext>`` with its metadata, and a thumbnail beside it; never overwrites."""

    def __init__(self, *, bucket: str, endpoint_url: str | None, region: str, access_key: str, secret_key: str,
                 public_url: str | None = None, prefix: str = "gallery/", timeout: float = 30.0,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 3},
                          s3={"addressing_style": "path"}))
        base = public_url or f"{(endpoint_url or f'https://s3.{region}.amazonaws.com').rstrip('/')}/{bucket}"
        self.public_url = base.rstrip("/")

    async def find(self, storage_id: str) -> StoredImage | None:
        """The image stored under ``storage_id``, or None."""
        return await anyio.to_thread.run_sync(self._find, safe_id(storage_id))

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Upload the thumbnail, then the image with its metadata, unless the image is there already."""
        return await anyio.to_thread.run_sync(self._put, safe_id(storage_id), image, tags)

    def _key(self, storage_id: str) -> str:
        return f"{self.prefix}{storage_id}"

    def _url(self, key: str) -> str:
        return f"{self.public_url}/{key}"

    def _find(self, storage_id: str) -> StoredImage | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(storage_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"s3 head of {storage_id} failed: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"s3 unreachable: {error}") from error
        meta = head.get("Metadata", {})
        name = meta.get("file", f"{self._key(storage_id)}.png")
        return stored(self._url(name), storage_id, self._url(f"{self._key(storage_id)}_thumb.jpg"), meta)

    def _put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...]) -> StoredImage:
        existing = self._find(storage_id)
        if existing is not None:
            return existing
        key = self._key(storage_id)
        name = f"{key}.{extension(image.content_type)}"
        meta = {**metadata(image), "file": name}
        tagging = "&".join(f"tag{i}={t}" for i, t in enumerate(tags))
        try:
            self.client.put_object(Bucket=self.bucket, Key=f"{key}_thumb.jpg", Body=thumbnail(image.data),
                                   ContentType="image/jpeg")
            self.client.put_object(Bucket=self.bucket, Key=name, Body=image.data, ContentType=image.content_type,
                                   Tagging=tagging)
            # The marker object goes last: its presence means the image and thumbnail are complete.
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"", Metadata=meta, IfNoneMatch="*")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise StorageError(f"s3 upload of {storage_id} failed: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"s3 unreachable: {error}") from error
        found = self._find(storage_id)
        if found is None:
            raise StorageError(f"s3 lost {storage_id} right after storing it")
        return found
