"""S3-compatible object storage (AWS S3, MinIO, R2, Supabase Storage): one adapter, endpoint by settings.

The bucket stays private: images are read through presigned GETs that expire; object names are random.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.errors import StorageError
from media.image_stores.local import object_name, safe_id
from media.image_stores.naming import thumbnail_name
from media.image_stores.thumbnails import extension, metadata, stored, thumbnail
from media.image_stores.uploads import owner_key, upload_info, upload_meta, with_data
from media.ports import ImageResult, StoredImage, Upload, UploadInfo
from media.threads import STORE_THREADS, Lane

MISSING = ("404", "NoSuchKey", "NotFound")


class S3Store:
    """Keeps ``<prefix><random>.<ext>`` and a thumbnail beside it, committed by a marker object under the
    generation id that names them; never overwrites; uploads under ``uploads/<owner digest>/``."""

    def __init__(self, *, bucket: str, endpoint_url: str | None, region: str, access_key: str, secret_key: str,
                 public_url: str | None = None, prefix: str = "gallery/", timeout: float = 30.0,
                 client: Any = None, lane: Lane | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.lane = lane or Lane("store", STORE_THREADS)  # its network I/O: never the routes' threads
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 3},
                          s3={"addressing_style": "path"}, signature_version="s3v4"))
        base = public_url or f"{(endpoint_url or f'https://s3.{region}.amazonaws.com').rstrip('/')}/{bucket}"
        self.public_url = base.rstrip("/")

    async def find(self, storage_id: str) -> StoredImage | None:
        """The image stored under ``storage_id``, or None."""
        return await self.lane.run(self._find, safe_id(storage_id))

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Upload the thumbnail, then the image with its metadata, unless the image is there already."""
        return await self.lane.run(self._put, safe_id(storage_id), image, tags)

    async def delete(self, storage_id: str) -> None:
        """Delete the image and its thumbnail, then the marker object that named them."""
        await self.lane.run(self._delete_image, safe_id(storage_id))

    def _delete_image(self, storage_id: str) -> None:
        found = self._find(storage_id)
        if found is None:
            return
        keys = [url.removeprefix(f"{self.public_url}/") for url in (found.url, found.thumbnail_url)]
        self._delete(*keys, self._key(storage_id))

    def signed_url(self, url: str, ttl: int) -> str:
        """A presigned GET of the object behind ``url``, valid for ``ttl`` seconds; other URLs unchanged."""
        key = url.split("?", 1)[0].removeprefix(f"{self.public_url}/")
        if key == url.split("?", 1)[0]:
            return url
        presigned: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl)
        return presigned

    def _key(self, storage_id: str) -> str:
        return f"{self.prefix}{storage_id}"

    def _url(self, key: str) -> str:
        return f"{self.public_url}/{key}"

    def _find(self, storage_id: str) -> StoredImage | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(storage_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise StorageError(f"s3 head of {storage_id} failed: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"s3 unreachable: {error}") from error
        meta = head.get("Metadata", {})
        name = meta.get("file", f"{self._key(storage_id)}.png")
        thumb = meta.get("thumbnail", thumbnail_name(self._key(storage_id)))
        return stored(self._url(name), storage_id, self._url(thumb), meta)

    def _put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...]) -> StoredImage:
        existing = self._find(storage_id)
        if existing is not None:
            return existing
        base = f"{self.prefix}{object_name()}"
        name, thumb = f"{base}.{extension(image.content_type)}", thumbnail_name(base)
        meta = {**metadata(image), "file": name, "thumbnail": thumb}
        tagging = "&".join(f"tag{i}={t}" for i, t in enumerate(tags))
        try:
            self.client.put_object(Bucket=self.bucket, Key=thumb, Body=thumbnail(image),
                                   ContentType="image/jpeg")
            self.client.put_object(Bucket=self.bucket, Key=name, Body=image.data, ContentType=image.content_type,
                                   Tagging=tagging)
            # The marker object goes last: its presence means the image and thumbnail are complete.
            self.client.put_object(Bucket=self.bucket, Key=self._key(storage_id), Body=b"", Metadata=meta,
                                   IfNoneMatch="*")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise StorageError(f"s3 upload of {storage_id} failed: {error}") from error
            self._delete(name, thumb)  # another delivery stored this generation first: keep only its objects
        except BotoCoreError as error:
            raise StorageError(f"s3 unreachable: {error}") from error
        found = self._find(storage_id)
        if found is None:
            raise StorageError(f"s3 lost {storage_id} right after storing it")
        return found

    def _delete(self, *keys: str) -> None:
        try:
            for key in keys:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"s3 delete of {', '.join(keys)} failed: {error}") from error

    # Uploads: ``uploads/<owner digest>/<upload id>`` (the photo) and ``.json`` (its record, written last).

    async def put_upload(self, upload: Upload) -> None:
        """Keep the photo, then its record."""
        await self.lane.run(self._put_upload, upload)

    async def read_upload(self, owner: str, upload_id: str) -> Upload | None:
        """The owner's photo ``upload_id``, or None."""
        return await self.lane.run(self._read_upload, owner, safe_id(upload_id))

    async def uploads(self, owner: str | None = None) -> list[UploadInfo]:
        """The uploads kept for ``owner``, or for everyone."""
        return await self.lane.run(self._uploads, owner)

    async def delete_upload(self, owner: str, upload_id: str) -> None:
        """Delete the photo and its record."""
        key = self._upload_key(owner, safe_id(upload_id))
        await self.lane.run(self._delete, key, f"{key}.json")

    @staticmethod
    def _upload_key(owner: str, upload_id: str) -> str:
        return f"uploads/{owner_key(owner)}/{upload_id}"

    def _put_upload(self, upload: Upload) -> None:
        key = self._upload_key(upload.owner, safe_id(upload.upload_id))
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=upload.data, ContentType=upload.content_type)
            self.client.put_object(Bucket=self.bucket, Key=f"{key}.json", Body=json.dumps(upload_meta(upload)),
                                   ContentType="application/json")
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"s3 upload of photo {upload.upload_id} failed: {error}") from error

    def _get(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise StorageError(f"s3 read of {key} failed: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"s3 unreachable: {error}") from error
        return body

    def _read_upload(self, owner: str, upload_id: str) -> Upload | None:
        key = self._upload_key(owner, upload_id)
        record = self._get(f"{key}.json")
        if record is None:
            return None
        info = upload_info(json.loads(record))
        data = self._get(key) if info.owner == owner else None
        return None if data is None else with_data(info, data)

    def _uploads(self, owner: str | None) -> list[UploadInfo]:
        prefix = f"uploads/{owner_key(owner)}/" if owner is not None else "uploads/"
        found = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    record = self._get(item["Key"]) if item["Key"].endswith(".json") else None
                    if record is not None:
                        info = upload_info(json.loads(record))
                        if owner is None or info.owner == owner:
                            found.append(info)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"s3 listing of {prefix} failed: {error}") from error
        return sorted(found, key=lambda u: u.created_at)
