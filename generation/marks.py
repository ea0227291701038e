"""The AI mark every image carries: an XMP packet with IPTC's ``DigitalSourceType`` = trainedAlgorithmicMedia,
in the finished PNG (a chunk added to the compositor's bytes) and in the JPEG thumbnail and share preview
(written by Pillow as it saves them)."""

from __future__ import annotations

import struct
import zlib

from generation.errors import GenerationError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    f' Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
).encode()


class MarkError(GenerationError):
    """An image that cannot carry the mark (not a PNG where one was expected)."""

    reason = "credentials"


def with_xmp(png: bytes) -> bytes:
    """``png`` with the AI mark as an XMP ``iTXt`` chunk right after its header (no pixels decoded again)."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise MarkError("the finished image is not a PNG: it cannot carry the AI mark")
    end_of_header = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP  # keyword, uncompressed, no language, no translation
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    return png[:end_of_header] + chunk + png[end_of_header:]
