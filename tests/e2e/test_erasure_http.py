"""A learner's right to erase, over HTTP: `DELETE /v1/me` deletes their images and uploads and destroys their key;
afterwards the stored events are unchanged (their words were ciphertext all along), `audit verify` passes, the
balances and the journal are what they were, and every read shows "erased" where their words were."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from api.cli import app as cli
from service.bootstrap import build_ledger
from service.container import Service
from service.settings import Settings
from tests.support.http import bearer, client_for, key, purchase, service_for, signed
from tests.support.made import ALICE, made

pytestmark = pytest.mark.e2e
BOB = bearer("bob")


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """A service on SQLite without the pipeline: the tests store and complete the image themselves."""
    return service_for("sqlite", tmp_path, with_pipeline=False)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """A client of the running service, alice and bob each holding a starter pack."""
    with client_for(service) as client:
        for user in ("alice", "bob"):
            body, headers = signed(purchase("starter", user))
            assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        yield client


def audit(service: Service, *args: str) -> str:
    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(service.store.data_dir), "STUDIO_GROUP_COMMIT": "false"}
    done = CliRunner().invoke(cli, ["audit", *args, "--no-progress"], env=env)
    assert done.exit_code == 0, done.output
    return done.output


def stored_events(service: Service) -> bytes:
    """Every stored event but the templates' (whose samples may hold any words)."""
    with sqlite3.connect(service.store.data_dir / "events.db") as db:
        rows = db.execute("SELECT state FROM stored_events WHERE topic NOT LIKE 'ledger.template:%' "
                          "ORDER BY rowid").fetchall()
    db.close()
    return b"".join(bytes(r[0]) for r in rows)


def upload(client: TestClient) -> str:
    out = io.BytesIO()
    Image.new("RGB", (512, 512), "teal").save(out, format="PNG")
    answer = client.post("/v1/uploads", files={"file": ("me.png", out.getvalue(), "image/png")},
                         headers={**ALICE, **key()})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["upload_id"])


def test_erasing_me_shreds_my_words_and_deletes_my_images_and_keeps_the_money_facts(
        client: TestClient, service: Service) -> None:
    generation_id, file = made(client, service)
    shared = client.post(f"/v1/generations/{generation_id}/share", headers={**ALICE, **key()}).json()
    bobs, _ = made_for_bob(client, service)
    upload(client)
    assert b"Intro to SQL" not in stored_events(service)  # sealed from the start, not at erasure
    assert b"upload:" not in stored_events(service)
    before_wallet = client.get(f"/v1/wallet?min_position={shared['position']}", headers=ALICE).json()
    before_journal = audit(service, "journal", "--format", "json")
    before_events = stored_events(service)

    answer = client.delete("/v1/me", headers=ALICE)
    assert answer.status_code == 200, answer.text
    erased = answer.json()
    assert (erased["user_id"], erased["images_deleted"], erased["uploads_deleted"]) == ("alice", 1, 1)
    position = erased["position"]

    assert not file.exists()
    assert client.get(shared["share_url"].removeprefix("http://testserver")).status_code == 404
    assert client.get(f"/v1/gallery?min_position={position}", headers=ALICE).json()["items"] == []
    seen = client.get(f"/v1/generations/{generation_id}", headers=ALICE).json()
    assert (seen["status"], seen["variables"], seen["image_url"]) == ("completed", {}, None)
    lines = client.get("/v1/wallet/statement", headers=ALICE).json()["items"]
    about = [line["description"] for line in lines if line["reference"] == generation_id]
    assert about and all(d.endswith(": erased") or ": erased " in d for d in about), about
    exported = client.get("/v1/me/export", headers=ALICE).json()
    assert "Intro to SQL" not in json.dumps(exported) and exported["uploads"] == []
    after_wallet = client.get("/v1/wallet", headers=ALICE).json()
    assert {k: after_wallet[k] for k in ("available", "held", "lifetime")} == {
        k: before_wallet[k] for k in ("available", "held", "lifetime")}
    generation = service.ledger.generation(UUID(generation_id))
    assert generation is not None and set(generation.variables.values()) == {"[erased]"}
    bob = service.ledger.generation(UUID(bobs))
    assert bob is not None and bob.variables["course"] == "Intro to SQL"  # another learner keeps their words

    assert stored_events(service).startswith(before_events)  # nothing stored was changed, only events added
    assert audit(service, "verify").startswith("OK: ")
    after_journal = json.loads(audit(service, "journal", "--format", "json"))
    money = [e for e in after_journal if any(line["credits"] or line["money_minor"] for line in e["lines"])]
    assert money == [e for e in json.loads(before_journal) if any(
        line["credits"] or line["money_minor"] for line in e["lines"])]
    assert any(e["event"] == "LearnerErased" for e in after_journal)

    again = client.delete("/v1/me", headers=ALICE)
    assert again.status_code == 200 and again.json()["images_deleted"] == 0


def made_for_bob(client: TestClient, service: Service) -> tuple[str, Path]:
    return made(client, service, who=BOB)


def test_erasing_needs_a_caller(client: TestClient) -> None:
    assert client.delete("/v1/me").status_code == 401


def test_support_staff_erase_a_learner_from_the_command_line(client: TestClient, service: Service) -> None:
    generation_id, file = made(client, service)
    position = service.ledger.recorder.max_notification_id()
    assert client.get(f"/v1/gallery?min_position={position}", headers=ALICE).json()["items"]
    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(service.store.data_dir), "STUDIO_GROUP_COMMIT": "false",
           "STUDIO_MEDIA_SIGNING_KEY": service.media.media_signing_key.get_secret_value()}
    done = CliRunner().invoke(cli, ["erase", "alice", "--by", "sam"], env=env)
    assert done.exit_code == 0, done.output
    assert done.output.startswith("erased alice: 1 images and 0 uploads deleted, key destroyed"), done.output
    assert not file.exists()
    # Another process (the service) may read the destroyed key from its cache for up to CACHE_S seconds; a
    # process started after the erasure never can.
    fresh = build_ledger(Settings(store=service.store, api=service.api))
    try:
        generation = fresh.generation(UUID(generation_id))
        assert generation is not None and set(generation.variables.values()) == {"[erased]"}
    finally:
        fresh.close()
    journal = json.loads(audit(service, "journal", "--format", "json"))
    assert [e["lines"][0]["memo"] for e in journal if e["event"] == "LearnerErased"] == [
        "learner erased at the request of sam"]
    refused = CliRunner().invoke(cli, ["erase", "x" * 300], env=env)
    assert refused.exit_code != 0


def test_the_key_table_is_backed_up_and_restored_with_the_store(client: TestClient, service: Service,
                                                                 tmp_path: Path) -> None:
    generation_id, _ = made(client, service)
    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(service.store.data_dir), "STUDIO_GROUP_COMMIT": "false"}
    backup = tmp_path / "store.backup"
    done = CliRunner().invoke(cli, ["store", "backup", str(backup)], env=env)
    assert done.exit_code == 0, done.output
    elsewhere = tmp_path / "restored"
    restored = CliRunner().invoke(cli, ["store", "restore", str(backup)],
                                  env={**env, "STUDIO_DATA_DIR": str(elsewhere)})
    assert restored.exit_code == 0, restored.output
    store = service.store.model_copy(update={"data_dir": elsewhere})
    ledger = build_ledger(Settings(store=store, api=service.api.model_copy(update={"read_db_url": ""})))
    try:
        generation = ledger.generation(UUID(generation_id))
        assert generation is not None and generation.variables["course"] == "Intro to SQL"  # the key came back
    finally:
        ledger.close()
