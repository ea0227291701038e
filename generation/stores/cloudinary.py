"""Cloudinary: upload as ``gallery/<generation id>`` without overwrite; thumbnails by URL transformation."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import cloudinary
import cloudinary.api
import cloudinary.uploader
from cloudinary.exceptions import Error as CloudinaryError
from cloudinary.exceptions import NotFound

from generation.errors import StorageError
from generation.ports import ImageResult, StoredImage
from generation.stores.local import safe_id
from generation.stores.thumbnails import metadata, stored

THUMBNAIL = {"width": 256, "height": 256, "crop": "fill", "gravity": "auto", "fetch_format": "auto"}


class CloudinaryStore:
    """Keeps images in a Cloudinary product environment, metadata in the asset's context."""

    def __init__(self, *, cloud_name: str, api_key: str, api_secret: str, folder: str = "gallery",
                 timeout: float = 60.0) -> None:
        self.folder = folder
        self.options: dict[str, Any] = {"cloud_name": cloud_name, "api_key": api_key, "api_secret": api_secret,
                                        "secure": True, "timeout": timeout}

    def public_id(self, storage_id: str) -> str:
        """The asset's public id: ``gallery/<generation id>``."""
        return f"{self.folder}/{safe_id(storage_id)}"

    async def find(self, storage_id: str) -> StoredImage | None:
        """The asset stored under ``storage_id``, or None."""
        return await anyio.to_thread.run_sync(self._find, storage_id)

    async def put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...] = ()) -> StoredImage:
        """Upload once; a second upload of the same id returns the existing asset untouched."""
        return await anyio.to_thread.run_sync(self._put, storage_id, image, tags)

    def _image(self, asset: dict[str, Any], storage_id: str) -> StoredImage:
        context = asset.get("context") or {}
        meta = context.get("custom", context) if isinstance(context, dict) else {}
        thumb, _ = cloudinary.utils.cloudinary_url(
            asset["public_id"], transformation=[THUMBNAIL], version=asset.get("version"), **self.options)
        return stored(asset["secure_url"], storage_id, thumb, meta)

    def _find(self, storage_id: str) -> StoredImage | None:
        try:
            asset = cloudinary.api.resource(self.public_id(storage_id), context=True, **self.options)
        except NotFound:
            return None
        except CloudinaryError as error:
            raise StorageError(f"cloudinary lookup of {storage_id} failed: {error}") from error
        return self._image(asset, storage_id)

    def _put(self, storage_id: str, image: ImageResult, tags: tuple[str, ...]) -> StoredImage:
        meta = metadata(image)
        try:
            asset = cloudinary.uploader.upload(
                image.data, public_id=self.public_id(storage_id), overwrite=False, unique_filename=False,
                resource_type="image", tags=list(tags), context=meta, **self.options)
        except CloudinaryError as error:
            raise StorageError(f"cloudinary upload of {storage_id} failed: {error}") from error
        if asset.get("existing") and not asset.get("context"):
            found = self._find(storage_id)  # the upload answer of an existing asset may omit its context
            if found is not None:
                return found
        return self._image({**asset, "context": asset.get("context") or {"custom": meta}}, storage_id)
