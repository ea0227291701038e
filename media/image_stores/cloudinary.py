"""Cloudinary: authenticated delivery (an image is served only to a signed URL) under a keyed-hash public id,
without overwrite; thumbnails by URL transformation; uploaded photos as private assets."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
from cloudinary.exceptions import Error as CloudinaryError
from cloudinary.exceptions import NotFound

from media.errors import StorageError
from media.image_stores.local import safe_id
from media.image_stores.thumbnails import extension, metadata, stored
from media.image_stores.uploads import owner_key, upload_info, upload_meta, with_data
from media.ports import ImageResult, StoredImage, Upload, UploadInfo
from media.threads import STORE_THREADS, Lane

# Whole, as the other stores; keep_iptc keeps the metadata Cloudinary strips by default (the XMP AI mark).
THUMBNAIL = {"width": 640, "height": 640, "crop": "limit", "fetch_format": "auto", "flags": "keep_iptc"}
DELIVERY = re.compile(r"^https://[^/]+/[^/]+/image/authenticated/(?:(?P<transformation>[^/]+)/)?"
                      r"v(?P<version>\d+)/(?P<public_id>[^?]+?)(?:\.(?P<format>[a-z0-9]+))?(?:\?.*)?$")


class CloudinaryStore:
    """Keeps images in a Cloudinary product environment, metadata in the asset's context."""

    def __init__(self, *, cloud_name: str, api_key: str, api_secret: str, folder: str = "gallery",
                 timeout: float = 60.0, auth_token_key: str | None = None, lane: Lane | None = None) -> None:
        self.folder = folder
        self.lane = lane or Lane("store", STORE_THREADS)  # its network I/O: never the routes' threads
        self.secret = api_secret
        self.auth_token_key = auth_token_key
        self.options: dict[str, Any] = {"cloud_name": cloud_name, "api_key": api_key, "api_secret": api_secret,
                                        "secure": True, "timeout": timeout}

    def public_id(self, storage_id: str) -> str:
        """The asset's public id: ``gallery/<keyed hash of the generation id>``, which only the key holder
        can work out, and always the same for one generation (so a repeated upload finds it)."""
        name = hmac.new(self.secret.encode(), safe_id(storage_id).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.folder}/{name}"

    async def find(self, storage_id: str) -> StoredImage | None:
        """The asset stored under ``storage_id``, or None."""
        return await self.lane.run(self._find, storage_id)

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Upload once; a second upload of the same id returns the existing asset untouched."""
        return await self.lane.run(self._put, storage_id, image, tags)

    async def delete(self, storage_id: str) -> None:
        """Delete the asset with its derived thumbnails, and purge them from the CDN."""
        await self.lane.run(self._delete_image, storage_id)

    def _delete_image(self, storage_id: str) -> None:
        try:
            cloudinary.uploader.destroy(self.public_id(storage_id), type="authenticated", invalidate=True,
                                        resource_type="image", **self.options)
        except CloudinaryError as error:
            raise StorageError(f"cloudinary delete of {storage_id} failed: {error}") from error

    def signed_url(self, url: str, ttl: int) -> str:
        """The signed delivery URL of an authenticated asset (expiring after ``ttl`` seconds when a token key
        is set); other URLs unchanged."""
        found = DELIVERY.match(url)
        if found is None:
            return url
        options: dict[str, Any] = {**self.options, "type": "authenticated", "sign_url": True,
                                   "version": found["version"]}
        if found["format"]:
            options["format"] = found["format"]
        if found["transformation"]:
            options["raw_transformation"] = found["transformation"]
        if self.auth_token_key:
            options["auth_token"] = {"key": self.auth_token_key, "duration": ttl}
        signed, _ = cloudinary.utils.cloudinary_url(found["public_id"], **options)
        return str(signed)

    def _image(self, asset: dict[str, Any], storage_id: str) -> StoredImage:
        context = asset.get("context") or {}
        meta = context.get("custom", context) if isinstance(context, dict) else {}
        unsigned = {**self.options, "type": "authenticated", "version": asset.get("version")}
        image, _ = cloudinary.utils.cloudinary_url(asset["public_id"], format=asset.get("format"), **unsigned)
        thumb, _ = cloudinary.utils.cloudinary_url(asset["public_id"], transformation=[THUMBNAIL], **unsigned)
        return stored(image, storage_id, thumb, meta)

    def _find(self, storage_id: str) -> StoredImage | None:
        try:
            asset = cloudinary.api.resource(self.public_id(storage_id), type="authenticated", context=True,
                                            **self.options)
        except NotFound:
            return None
        except CloudinaryError as error:
            raise StorageError(f"cloudinary lookup of {storage_id} failed: {error}") from error
        return self._image(asset, storage_id)

    def _put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...]) -> StoredImage:
        meta = metadata(image)
        try:
            asset = cloudinary.uploader.upload(
                image.data, public_id=self.public_id(storage_id), type="authenticated", overwrite=False,
                unique_filename=False, resource_type="image", tags=list(tags), context=meta, **self.options)
        except CloudinaryError as error:
            raise StorageError(f"cloudinary upload of {storage_id} failed: {error}") from error
        if asset.get("existing") and not asset.get("context"):
            found = self._find(storage_id)  # the upload answer of an existing asset may omit its context
            if found is not None:
                return found
        return self._image({**asset, "context": asset.get("context") or {"custom": meta}}, storage_id)

    # Uploads: private assets ``uploads/<owner digest>/<upload id>``, read through expiring download URLs.

    async def put_upload(self, upload: Upload) -> None:
        """Keep the photo as a private asset with its record in the context."""
        await self.lane.run(self._put_upload, upload)

    async def read_upload(self, owner: str, upload_id: str) -> Upload | None:
        """The owner's photo ``upload_id``, or None."""
        return await self.lane.run(self._read_upload, owner, safe_id(upload_id))

    async def uploads(self, owner: str | None = None) -> list[UploadInfo]:
        """The uploads kept for ``owner``, or for everyone."""
        return await self.lane.run(self._uploads, owner)

    async def delete_upload(self, owner: str, upload_id: str) -> None:
        """Delete the private asset."""
        await self.lane.run(self._delete_upload, owner, safe_id(upload_id))

    @staticmethod
    def _upload_id(owner: str, upload_id: str) -> str:
        return f"uploads/{owner_key(owner)}/{upload_id}"

    def _put_upload(self, upload: Upload) -> None:
        try:
            cloudinary.uploader.upload(upload.data, public_id=self._upload_id(upload.owner, safe_id(upload.upload_id)),
                                       type="private", overwrite=True, unique_filename=False, resource_type="image",
                                       context=upload_meta(upload), **self.options)
        except CloudinaryError as error:
            raise StorageError(f"cloudinary upload of photo {upload.upload_id} failed: {error}") from error

    def _read_upload(self, owner: str, upload_id: str) -> Upload | None:
        public_id = self._upload_id(owner, upload_id)
        try:
            asset = cloudinary.api.resource(public_id, type="private", context=True, **self.options)
        except NotFound:
            return None
        except CloudinaryError as error:
            raise StorageError(f"cloudinary lookup of photo {upload_id} failed: {error}") from error
        info = upload_info((asset.get("context") or {}).get("custom", {}))
        if info.owner != owner:
            return None
        url = cloudinary.utils.private_download_url(public_id, extension(info.content_type), type="private",
                                                    expires_at=int(time.time()) + 300, **self.options)
        try:
            response = httpx.get(url, timeout=self.options["timeout"], follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise StorageError(f"cloudinary download of photo {upload_id} failed: {error}") from error
        return with_data(info, response.content)

    def _uploads(self, owner: str | None) -> list[UploadInfo]:
        prefix = f"uploads/{owner_key(owner)}/" if owner is not None else "uploads/"
        found, cursor = [], None
        try:
            while True:
                page = cloudinary.api.resources(type="private", prefix=prefix, context=True, max_results=500,
                                                next_cursor=cursor, **self.options)
                for asset in page.get("resources", []):
                    info = upload_info((asset.get("context") or {}).get("custom", {}))
                    if owner is None or info.owner == owner:
                        found.append(info)
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        except (CloudinaryError, KeyError, ValueError) as error:
            raise StorageError(f"cloudinary listing of {prefix} failed: {error}") from error
        return sorted(found, key=lambda u: u.created_at)

    def _delete_upload(self, owner: str, upload_id: str) -> None:
        try:
            cloudinary.uploader.destroy(self._upload_id(owner, upload_id), type="private", invalidate=True,
                                        **self.options)
        except CloudinaryError as error:
            raise StorageError(f"cloudinary delete of photo {upload_id} failed: {error}") from error
