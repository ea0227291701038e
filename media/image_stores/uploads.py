"""What every store keeps beside an uploaded photo, and the owner's folder name."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from media.ports import Upload, UploadInfo


def owner_key(owner: str) -> str:
    """The folder (prefix) of an owner's uploads: a digest, so any user id makes a plain name."""
    return hashlib.sha256(owner.encode()).hexdigest()[:32]


def upload_meta(upload: UploadInfo) -> dict[str, str]:
    """The upload's fields as strings, for a record, object metadata or an asset's context."""
    return {"upload_id": upload.upload_id, "owner": upload.owner, "content_type": upload.content_type,
            "width": str(upload.width), "height": str(upload.height),
            "created_at": upload.created_at.isoformat(), "expires_at": upload.expires_at.isoformat()}


def upload_info(meta: dict[str, Any]) -> UploadInfo:
    """The upload described by ``upload_meta``'s fields."""
    return UploadInfo(upload_id=str(meta["upload_id"]), owner=str(meta["owner"]),
                      content_type=str(meta["content_type"]), width=int(meta["width"]), height=int(meta["height"]),
                      created_at=datetime.fromisoformat(str(meta["created_at"])),
                      expires_at=datetime.fromisoformat(str(meta["expires_at"])))


def with_data(info: UploadInfo, data: bytes) -> Upload:
    """``info`` with its bytes."""
    return Upload(upload_id=info.upload_id, owner=info.owner, content_type=info.content_type, width=info.width,
                  height=info.height, created_at=info.created_at, expires_at=info.expires_at, data=data)
