"""A learner's own data: deleting an image (gone from the gallery, the store and its share link, the credits
kept and described as "image deleted"), deleting an upload now, exporting everything; audit still passes."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from api.cli import app as cli
from service.container import Service
from tests.support.http import bearer, key
from tests.support.made import ALICE, POSTER, made

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("starter_pack")]
BOB = bearer("bob")


def test_a_deleted_image_leaves_the_gallery_the_store_and_its_share_link_and_keeps_its_credits(
        client: TestClient, service: Service) -> None:
    generation_id, file = made(client, service)
    shared = client.post(f"/v1/generations/{generation_id}/share", headers={**ALICE, **key()}).json()
    page = shared["share_url"].removeprefix("http://testserver")
    assert client.get(f"{page}?min_position={shared['position']}").status_code == 200
    before = client.get(f"/v1/wallet?min_position={shared['position']}", headers=ALICE).json()

    assert client.delete(f"/v1/generations/{generation_id}", headers=BOB).status_code == 404
    answer = client.delete(f"/v1/generations/{generation_id}", headers=ALICE)
    assert answer.status_code == 200, answer.text
    position = answer.json()["position"]
    assert answer.json() == {"generation_id": generation_id, "deleted": True, "position": position}

    assert client.get(f"/v1/gallery?min_position={position}", headers=ALICE).json()["items"] == []
    assert client.get(page).status_code == 404 and client.get(f"{page}/image").status_code == 404
    assert not file.exists() and not list(file.parent.glob(f"{file.stem}*"))
    seen = client.get(f"/v1/generations/{generation_id}", headers=ALICE).json()
    assert (seen["status"], seen["image_url"], seen["share_url"], seen["variables"]) == ("completed", None, None, {})
    after = client.get("/v1/wallet", headers=ALICE).json()
    assert (after["available"], after["held"], after["lifetime"]) == (before["available"], before["held"],
                                                                        before["lifetime"])
    lines = client.get("/v1/wallet/statement", headers=ALICE).json()["items"]
    about = [line["description"] for line in lines if line["reference"] == generation_id]
    assert about and all("image deleted" in d and "Intro to SQL" not in d for d in about), about

    repeated = client.delete(f"/v1/generations/{generation_id}", headers=ALICE)
    assert repeated.status_code == 200 and repeated.json()["position"] == position
    again = client.post(f"/v1/generations/{generation_id}/share", headers={**ALICE, **key()})
    assert again.status_code == 409

    verified = CliRunner().invoke(cli, ["audit", "verify", "--no-progress"], env={
        "STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(service.store.data_dir), "STUDIO_GROUP_COMMIT": "false"})
    assert verified.exit_code == 0 and verified.output.startswith("OK: "), verified.output


def test_an_unfinished_generation_cannot_be_deleted(client: TestClient) -> None:
    accepted = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()}).json()
    answer = client.delete(f"/v1/generations/{accepted['generation_id']}", headers=ALICE)
    assert answer.status_code == 409 and "only a finished image" in answer.json()["detail"]


def test_an_upload_is_deleted_now_and_a_second_delete_is_not_found(client: TestClient, service: Service) -> None:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), "teal").save(out, format="JPEG")
    upload = client.post("/v1/uploads", files={"file": ("me.jpg", out.getvalue(), "image/jpeg")},
                         headers={**ALICE, **key()}).json()
    assert client.delete(f"/v1/uploads/{upload['upload_id']}", headers=BOB).status_code == 404
    assert client.delete(f"/v1/uploads/{upload['upload_id']}", headers=ALICE).status_code == 204
    assert service.images is not None and asyncio.run(service.images.uploads("alice")) == []
    gone = client.delete(f"/v1/uploads/{upload['upload_id']}", headers=ALICE)
    assert gone.status_code == 404 and gone.json()["type"] == "urn:studio-ledger:problem:upload-not-found"


def test_the_export_holds_the_statement_the_generations_with_their_texts_and_links_and_the_uploads(
        client: TestClient, service: Service) -> None:
    kept, _ = made(client, service)
    deleted, _ = made(client, service)
    client.delete(f"/v1/generations/{deleted}", headers=ALICE)
    answer = client.get("/v1/me/export", headers=ALICE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith('attachment; filename="studio-export-')
    export: dict[str, Any] = json.loads(answer.content)
    assert export["user_id"] == "alice" and export["wallet"]["lifetime"]["purchased"] == 100
    assert [line["type"] for line in export["statement"]][:2] == ["WalletOpened", "CreditsPurchased"]
    assert export["statement"][-1]["balance"] == export["wallet"]["available"] + export["wallet"]["held"]
    by_id = {g["generation_id"]: g for g in export["generations"]}
    assert POSTER["variables"].items() <= by_id[kept]["variables"].items()  # with the defaults filled in
    assert "&signature=" in by_id[kept]["image_url"]
    assert by_id[kept]["image_deleted"] is False
    assert (by_id[deleted]["variables"], by_id[deleted]["image_url"], by_id[deleted]["image_deleted"]) == (
        {}, None, True)
    assert export["uploads"] == []
    assert "bob" not in json.dumps(client.get("/v1/me/export", headers=BOB).json()["generations"])
