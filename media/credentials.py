"""Content credentials: every finished image says it was made by AI, twice over. An XMP packet with IPTC's
``DigitalSourceType`` = trainedAlgorithmicMedia (in the image, its thumbnail and its share preview), and a
C2PA manifest signed with the service's certificate naming the service, the template and its version, the
model provider and the ``c2pa.created`` action with the same source type (in the image itself).

c2pa-python is used here and nowhere else."""

from __future__ import annotations

import dataclasses
import io
import json

import c2pa

from media.errors import GenerationError
from media.marks import TRAINED_ALGORITHMIC_MEDIA, with_xmp
from media.ports import ImageResult
from media.templates import Template

SERVICE = "Studio Ledger"
# No thumbnail inside the manifest: c2pa would draw one for every image (about 40 ms of CPU and 50 KB
# each, against about 1.5 ms and 4 KB for the signed manifest alone), and the gallery has its own.
SETTINGS = json.dumps({"builder": {"thumbnail": {"enabled": False}}})
ASSERTION = "org.studio-ledger.generation"  # our own assertion: the template, its version, the model


class CredentialsError(GenerationError):
    """The image could not be marked or signed: a certificate c2pa refuses, or an image it cannot read."""

    reason = "credentials"


class ContentCredentials:
    """Signs finished images with a certificate chain (PEM, the signing certificate first) and its key."""

    def __init__(self, chain: bytes, key: bytes, *, version: str, origin: str) -> None:
        self.version = version
        self.origin = origin  # where the certificate came from, for the start-up lines
        try:
            self.signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
        except (c2pa.C2paError, ValueError) as error:
            raise CredentialsError(f"the content credentials' certificate or key cannot sign: {error}") from error
        self.check()

    def check(self) -> None:
        """Sign a tiny image once, so a certificate c2pa refuses stops start-up rather than every generation."""
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (8, 8)).save(out, format="JPEG")  # what the worker signs: the finished JPEG
        self.sign_data(with_xmp(out.getvalue()), {"template": "check", "template_version": 0, "provider": "local",
                                                  "model": "local"}, "image/jpeg")

    def sign(self, image: ImageResult, template: Template) -> ImageResult:
        """``image`` (a JPEG or a PNG) with the XMP mark and a signed C2PA manifest; its decoded picture kept for
        thumbnails."""
        facts = {"template": template.id, "template_version": template.version, "provider": image.provider,
                 "model": image.model}
        kind = "image/jpeg" if image.content_type.startswith("image/jpeg") else "image/png"
        return dataclasses.replace(image, data=self.sign_data(with_xmp(image.data), facts, kind))

    def sign_data(self, data: bytes, facts: dict[str, object], kind: str = "image/png") -> bytes:
        """``data`` (an image of type ``kind``) with an embedded C2PA manifest of ``facts``, signed."""
        manifest = {
            "claim_generator_info": [{"name": SERVICE, "version": self.version}],
            "title": f"{facts['template']}.{'jpg' if kind == 'image/jpeg' else 'png'}",
            "assertions": [
                {"label": "c2pa.actions", "data": {"actions": [{
                    "action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                    "softwareAgent": {"name": SERVICE, "version": self.version},
                    "parameters": {"description": f"made by {facts['provider']} ({facts['model']}) from the "
                                                  f"template {facts['template']} v{facts['template_version']}"},
                }]}},
                {"label": ASSERTION, "data": {"service": SERVICE, **facts}},
            ],
        }
        dest = io.BytesIO()
        try:
            with c2pa.Context(c2pa.Settings.from_json(SETTINGS)) as context, \
                    c2pa.Builder(json.dumps(manifest), context=context) as builder:
                builder.sign(self.signer, kind, io.BytesIO(data), dest)
        except c2pa.C2paError as error:
            raise CredentialsError(f"cannot sign the image's content credentials: {error}") from error
        return dest.getvalue()
