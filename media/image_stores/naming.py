"""How the image stores name a thumbnail: the convention they write by, which the read side follows too to
find the thumbnail of an image stored before the stores reported their thumbnail's URL."""

from __future__ import annotations

THUMBNAIL_SUFFIX = "_thumb.jpg"  # a local or S3 image's thumbnail: a JPEG beside it, <name>_thumb.jpg
OPEN_GRAPH_SUFFIX = "_og.jpg"  # a local image's share preview, made on its first request: <name>_og.jpg
# A Cloudinary image's thumbnail was its URL with this resize transformation, before the store reported one.
CLOUDINARY_KINDS = ("/image/upload/", "/image/authenticated/")
CLOUDINARY_THUMBNAIL = "c_limit,w_256,h_256"


def thumbnail_name(base: str) -> str:
    """The name of the thumbnail of the image named ``base`` plus its extension, in a local or S3 store."""
    return f"{base}{THUMBNAIL_SUFFIX}"


def open_graph_name(file: str) -> str:
    """The name of the share preview of the image file ``file`` (``<name>.<ext>``) in the local store."""
    return f"{file.rsplit('.', 1)[0]}{OPEN_GRAPH_SUFFIX}"


def thumbnail_url_of(image_url: str) -> str:
    """The thumbnail URL the stores' naming gives the image at ``image_url`` (the image's own URL when it
    names none: no extension to replace)."""
    for kind in CLOUDINARY_KINDS:
        if kind in image_url:
            return image_url.replace(kind, f"{kind}{CLOUDINARY_THUMBNAIL}/", 1)
    stem, dot, _ = image_url.rpartition(".")
    return thumbnail_name(stem) if dot and "/" not in image_url[len(stem):] else image_url
