"""The AI mark every image carries: an XMP packet with IPTC's ``DigitalSourceType`` = trainedAlgorithmicMedia,
in the finished image (a PNG chunk or a JPEG segment added to the compositor's bytes) and in the JPEG thumbnail
and share preview (written by Pillow as it saves them)."""

from __future__ import annotations

import struct
import zlib

from media.errors import GenerationError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI, JPEG_APP0 = b"\xff\xd8", b"\xff\xe0"
XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/\x00"  # how a JPEG's APP1 segment says it holds XMP
XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    f' Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
).encode()


class MarkError(GenerationError):
    """An image that cannot carry the mark (neither a PNG nor a JPEG)."""

    reason = "credentials"


def with_xmp(image: bytes) -> bytes:
    """``image`` (a PNG or a JPEG) with the AI mark added as XMP, no pixels decoded again: an ``iTXt`` chunk
    right after a PNG's header, an APP1 segment right after a JPEG's start (and its JFIF segment, if any)."""
    if image.startswith(JPEG_SOI):
        return _jpeg_with_xmp(image)
    if not image.startswith(PNG_SIGNATURE) or image[12:16] != b"IHDR":
        raise MarkError("the finished image is neither a PNG nor a JPEG: it cannot carry the AI mark")
    end_of_header = 8 + 8 + struct.unpack(">I", image[8:12])[0] + 4
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP  # keyword, uncompressed, no language, no translation
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    return image[:end_of_header] + chunk + image[end_of_header:]


def _jpeg_with_xmp(jpeg: bytes) -> bytes:
    at = len(JPEG_SOI)
    if jpeg[at:at + 2] == JPEG_APP0:  # JFIF wants its segment first: the mark goes after it
        if len(jpeg) < at + 4:
            raise MarkError("the finished image is a truncated JPEG: it cannot carry the AI mark")
        at += 2 + struct.unpack(">H", jpeg[at + 2:at + 4])[0]
    if jpeg[at:at + 1] != b"\xff":  # the next segment's marker, not past the end nor into garbage
        raise MarkError("the finished image is a malformed JPEG: it cannot carry the AI mark")
    body = XMP_NAMESPACE + XMP
    return jpeg[:at] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[at:]
