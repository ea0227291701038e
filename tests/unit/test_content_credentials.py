"""Content credentials: every stored image carries the XMP AI mark and a signed C2PA manifest (read back with
c2pa-python's Reader), its thumbnail and share preview the XMP mark; the certificate's start-up paths."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import anyio
import c2pa
import pytest
from PIL import Image

from api.processes.serve import welcome
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.marks import TRAINED_ALGORITHMIC_MEDIA
from media.messages import GenerationCompletedMessage, GenerationRequestedMessage
from media.models.local import LocalModel
from media.templates import load_catalog
from service.bootstrap import build_credentials
from service.settings import ApiSettings, StoreSettings
from service.settings.media import MediaSettings
from service.settings.store import StartupError
from tests.support.worker import requested

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder the worker signs from: its self-signed certificate is made there."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def stored(data_dir: Path) -> dict[str, bytes]:
    """One generation rendered, signed and stored as the worker does: the image and thumbnail bytes, and the share
    preview's as its first request makes it."""
    store = LocalStore(data_dir)
    handler = GenerationHandler(load_catalog(), LocalModel(scale=0.25), store, RetryPolicy(attempts=1),
                                credentials=build_credentials(MediaSettings(data_dir=data_dir)))
    message = GenerationRequestedMessage.model_validate(requested("poster-course-launch",
                                                                  {"course": "Intro to SQL", "date": "1 March"}))
    result = anyio.run(handler.handle, message)
    assert isinstance(result, GenerationCompletedMessage), result
    record = json.loads((store.folder / f"{result.storage_id}.json").read_text())
    preview = anyio.run(store.share_preview, result.image_url)  # made from the stored image, as a share asks
    return {"image": (store.folder / record["file"]).read_bytes(),
            "thumbnail": (store.folder / record["thumbnail"]).read_bytes(), "preview": preview.read_bytes()}


def xmp_of(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    return xmp.decode() if isinstance(xmp, bytes) else str(xmp)


@pytest.mark.parametrize("part", ["image", "thumbnail", "preview"])
def test_the_image_its_thumbnail_and_its_share_preview_carry_the_xmp_ai_mark(stored: dict[str, bytes],
                                                                           part: str) -> None:
    xmp = xmp_of(stored[part])
    assert f'Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in xmp


def manifest_of(data: bytes, trusting: str | None = None) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """The validation state, results and active manifest as c2pa's Reader sees them (trusting a root, if given)."""
    settings = {"verify": {"verify_trust": True}, **({"trust": {"trust_anchors": trusting}} if trusting else {})}
    with c2pa.Context(c2pa.Settings.from_json(json.dumps(settings))) as context, \
            c2pa.Reader("image/jpeg" if data[:2] == b"\xff\xd8" else "image/png", io.BytesIO(data),
                        context=context) as reader:
        return reader.get_validation_state(), reader.get_validation_results() or {}, reader.get_active_manifest()


def root_of(data_dir: Path) -> str:
    chain = (data_dir / "c2pa" / "chain.pem").read_text()
    return "-----BEGIN CERTIFICATE-----" + chain.split("-----BEGIN CERTIFICATE-----")[2]


def test_the_stored_image_has_a_signed_c2pa_manifest_naming_the_service_template_and_provider(
        stored: dict[str, bytes], data_dir: Path) -> None:
    assert stored["image"][:2] == b"\xff\xd8"  # the finished JPEG, signed as one
    state, results, _ = manifest_of(stored["image"])
    failures = {entry["code"] for entry in results["activeManifest"]["failure"]}
    assert (state, failures) == ("Valid", {"signingCredential.untrusted"})  # signed, by a root nobody trusts yet
    state, results, manifest = manifest_of(stored["image"], trusting=root_of(data_dir))
    assert state == "Trusted" and not results["activeManifest"]["failure"]
    codes = {entry["code"] for entry in results["activeManifest"]["success"]}
    assert {"claimSignature.validated", "assertion.dataHash.match"} <= codes
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    (created,) = assertions["c2pa.actions.v2"]["actions"]
    assert created["action"] == "c2pa.created" and created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    template = load_catalog().get("poster-course-launch")
    assert assertions["org.studio-ledger.generation"] == {
        "service": "Studio Ledger", "template": template.id, "template_version": template.version,
        "provider": "local", "model": "pillow"}
    assert manifest["claim_generator_info"][0]["name"] == "Studio Ledger"
    assert manifest["signature_info"]["common_name"] == "Studio Ledger content credentials"
    assert "thumbnail" not in manifest  # the gallery has its own: c2pa drawing one would cost ~40 ms an image


def test_an_image_changed_after_signing_no_longer_verifies(stored: dict[str, bytes], data_dir: Path) -> None:
    with Image.open(io.BytesIO(stored["image"])) as image:
        pixels = image.convert("RGB")
    pixels.putpixel((0, 0), (1, 2, 3))
    out = io.BytesIO()
    pixels.save(out, format="PNG")
    with pytest.raises(c2pa.C2paError):  # re-encoded: the manifest is gone
        manifest_of(out.getvalue())
    tampered = bytearray(stored["image"])
    tampered[-200] ^= 0xFF  # a byte of the pixels, the manifest left as it was
    state, results, _ = manifest_of(bytes(tampered), trusting=root_of(data_dir))
    failures = {entry["code"] for entry in results["activeManifest"]["failure"]}
    assert state == "Invalid" and "assertion.dataHash.mismatch" in failures


def test_the_self_signed_certificate_is_made_once_and_said_so_at_start_up(tmp_path: Path) -> None:
    settings = MediaSettings(data_dir=tmp_path)
    first = build_credentials(settings)
    chain = (tmp_path / "c2pa" / "chain.pem").read_bytes()
    again = build_credentials(settings)
    assert (tmp_path / "c2pa" / "chain.pem").read_bytes() == chain
    assert "made now" in first.origin and "made on first start" in again.origin
    assert oct((tmp_path / "c2pa" / "key.pem").stat().st_mode & 0o777) == "0o600"
    lines = welcome(ApiSettings(), StoreSettings(data_dir=tmp_path), credentials=again.origin).splitlines()
    assert lines[-1].startswith("content credentials: signed with a self-signed certificate made on first start")
    assert "STUDIO_C2PA_CERT" in lines[-1]


def test_a_configured_certificate_signs_and_one_c2pa_refuses_stops_start_up_in_one_line(tmp_path: Path) -> None:
    build_credentials(MediaSettings(data_dir=tmp_path / "made"))
    chain, key = tmp_path / "made" / "c2pa" / "chain.pem", tmp_path / "made" / "c2pa" / "key.pem"
    own = build_credentials(MediaSettings(data_dir=tmp_path, c2pa_cert=chain, c2pa_key=key))
    assert own.origin == f"signed with the certificate {chain}" and not (tmp_path / "c2pa").exists()
    root_only = tmp_path / "root.pem"  # the root alone: a CA certificate c2pa will not sign with
    root_only.write_bytes(chain.read_bytes().split(b"-----END CERTIFICATE-----\n")[1])
    for cert in (root_only, tmp_path / "missing.pem"):
        with pytest.raises(StartupError) as caught:
            build_credentials(MediaSettings(data_dir=tmp_path, c2pa_cert=cert, c2pa_key=key))
        assert "STUDIO_C2PA" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="set both or neither"):
        MediaSettings(data_dir=tmp_path, c2pa_cert=chain)


def test_a_data_folder_the_certificate_cannot_be_kept_in_stops_start_up_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "c2pa").write_text("a file where the folder goes")
    with pytest.raises(StartupError, match="set STUDIO_C2PA_CERT and STUDIO_C2PA_KEY") as caught:
        build_credentials(MediaSettings(data_dir=tmp_path))
    assert "\n" not in str(caught.value)
