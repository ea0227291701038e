"""Reads that find nothing answer as of the ledger's head: a share link works the moment it is handed out,
a generation id handed to another tab is found, a wallet read after the payment webhook sees the purchase,
each before the projector applied the command (held back here), on SQLite, PostgreSQL and two replicas."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ledger.event_store.follow import Stored
from projections import Projector, all_projections
from service.bootstrap import uploads_in_use_at_head
from service.container import Service
from service.uploads import UploadPurger
from tests.support.http import bearer, buy, client_for, finish, generate, key, photo, service_for, upload

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")
JSON = {"Accept": "application/json"}
# A read that finds nothing with the projections at the head answers without waiting for the bound; the
# bound is set far above what a loaded machine takes to answer, and a read must answer within a third of it.
BOUND_MS = 60_000
AT_ONCE_S = BOUND_MS / 1000 / 3


@contextmanager
def held_back(service: Service, *, until_asked: Service | None = None, release: bool = True) -> Iterator[None]:
    """The projector of ``service`` applies nothing until a read asks the ledger's head (through ``until_asked``,
    ``service`` by default), which it does only to wait for the projections: so a read that answers without
    waiting finds the command unapplied, every time. With ``release=False`` it stays held to the end."""
    projector, reader = service.projector, until_asked or service
    gate = threading.Event()
    apply, head = projector.apply, reader.watcher.head

    def held_apply(page: list[Stored]) -> None:
        gate.wait()
        apply(page)

    def asked_head() -> int:
        position = head()
        if release:
            gate.set()
        return position

    projector.apply = held_apply  # type: ignore[method-assign]
    reader.watcher.head = asked_head
    try:
        yield
    finally:
        reader.watcher.head = head
        del projector.apply  # the method again
        gate.set()


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A service without the image pipeline (the tests play its part), on each store, waiting up to 5 s."""
    pg_env = request.getfixturevalue("pg_env") if request.param == "postgres" else None
    return service_for(request.param, tmp_path, pg_env, with_pipeline=False, read_wait_ms=5000)


def made(client: TestClient, service: Service, user: dict[str, str] = ALICE) -> str:
    """A finished image of the caller's, stored and projected: its generation id."""
    buy(client, user="alice")
    generation = generate(client, headers=user).json()["generation_id"]
    done = finish(service, generation)
    picture = service.media.data_dir / "media" / "gallery" / f"{generation}.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "#336699").save(picture)
    seen = client.get(f"/v1/generations/{generation}?min_position={done}", headers=user)
    assert seen.json()["status"] == "completed", seen.text
    return str(generation)


def share(client: TestClient, generation: str) -> str:
    """Share ``generation``; the link's token."""
    shared = client.post(f"/v1/generations/{generation}/share", headers={**ALICE, **key()})
    assert shared.status_code == 200, shared.text
    return str(shared.json()["share_url"]).rsplit("/", 1)[1]


def test_a_share_link_used_before_the_projector_applied_the_share_shows_the_image(
        client: TestClient, service: Service) -> None:
    generation = made(client, service)
    with held_back(service):
        token = share(client, generation)
        page = client.get(f"/s/{token}")
    assert page.status_code == 200, page.text
    assert f'<meta property="og:image" content="http://testserver/s/{token}/preview.jpg">' in page.text
    with held_back(service):  # the preview's image, fetched first by a network that saw the link
        token = share(client, made(client, service))
        preview = client.get(f"/s/{token}/preview.jpg")
        image = client.get(f"/s/{token}/image")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_a_link_never_shared_answers_404_at_once_when_the_projections_are_at_the_head(
        client: TestClient, service: Service) -> None:
    made(client, service)
    service.api.read_wait_ms = BOUND_MS
    for path, headers in (("/s/never-shared", {}), ("/s/never-shared/image", JSON),
                          ("/s/never-shared/preview.jpg", JSON)):
        started = time.monotonic()
        missing = client.get(path, headers=headers)
        assert missing.status_code == 404 and time.monotonic() - started < AT_ONCE_S, missing.text
    assert missing.json()["type"].endswith(":share-not-found")


def test_a_link_whose_owner_just_stopped_sharing_stops_before_the_projector_applied_it(
        client: TestClient, service: Service) -> None:
    token = share(client, made(client, service))
    assert client.get(f"/s/{token}").status_code == 200
    generation = client.get("/v1/gallery", headers=ALICE).json()["items"][0]["generation_id"]
    with held_back(service):
        assert client.delete(f"/v1/generations/{generation}/share", headers=ALICE).status_code == 200
        gone = client.get(f"/s/{token}")
        preview = client.get(f"/s/{token}/preview.jpg", headers=JSON)
    assert gone.status_code == 404 and "This image is not shared" in gone.text
    assert preview.status_code == 404 and preview.json()["type"].endswith(":share-not-found")
    service.api.read_wait_ms = BOUND_MS
    started = time.monotonic()
    assert client.get(f"/s/{token}/image").status_code == 404 and time.monotonic() - started < AT_ONCE_S


def test_a_link_read_while_the_projections_stay_behind_is_503_to_retry_and_never_a_404(
        client: TestClient, service: Service) -> None:
    earlier = share(client, made(client, service))
    generation = made(client, service)
    service.api.read_wait_ms = 200
    with held_back(service, release=False):
        token = share(client, generation)
        page = client.get(f"/s/{token}")
        problem = client.get(f"/s/{token}/image", headers=JSON)
        still = client.get(f"/s/{earlier}")  # what the projections have is still served, after the wait
    assert page.status_code == 503 and "This image is almost ready" in page.text
    assert page.headers["Retry-After"] == "1" and page.headers["Cache-Control"] == "no-store"
    assert problem.status_code == 503 and problem.json()["type"].endswith(":projection-behind")
    assert still.status_code == 200
    assert client.get(f"/s/{token}").status_code == 200  # released: the link works


def test_a_generation_id_handed_to_another_tab_is_found_before_the_projector_applied_it(
        client: TestClient, service: Service) -> None:
    buy(client)
    with held_back(service):
        accepted = generate(client).json()
        seen = client.get(f"/v1/generations/{accepted['generation_id']}", headers=ALICE)  # no position
    assert seen.status_code == 200 and seen.json()["status"] == "requested", seen.text
    service.api.read_wait_ms = BOUND_MS
    started = time.monotonic()
    other = client.get(f"/v1/generations/{accepted['generation_id']}", headers=bearer("mallory"))
    assert other.status_code == 404 and time.monotonic() - started < AT_ONCE_S


def test_a_wallet_read_after_the_payment_webhook_sees_the_purchase_without_a_position(
        client: TestClient, service: Service) -> None:
    with held_back(service):
        buy(client, user="nisha")
        platform: Any = client.get("/v1/admin/wallets/nisha", headers=ADMIN)
    assert platform.status_code == 200 and platform.json()["available"] == 100, platform.text
    with held_back(service):
        position = buy(client, user="omar")
        own = client.get("/v1/wallet", headers=bearer("omar")).json()
    assert own["available"] == 100 and own["position"] >= position
    service.api.read_wait_ms = BOUND_MS
    started = time.monotonic()
    assert client.get("/v1/admin/wallets/nobody", headers=ADMIN).status_code == 404
    assert client.get("/v1/wallet", headers=bearer("nobody")).json()["available"] == 0
    assert time.monotonic() - started < AT_ONCE_S
    service.api.read_wait_ms = 200
    with held_back(service, release=False):  # longer than the bound: a new learner's wallet is still empty
        position = buy(client, user="pia")
        late = client.get("/v1/wallet", headers=bearer("pia"))
        behind = client.get("/v1/admin/wallets/pia", headers=ADMIN)
    assert late.status_code == 200 and late.json()["available"] == 0 and late.json()["position"] < position
    assert behind.status_code == 503 and behind.json()["type"].endswith(":projection-behind")


def test_a_link_made_through_one_replica_works_through_the_other_before_the_projector_applied_it(
        pg_env: dict[str, str], tmp_path: Path) -> None:
    services = [service_for("postgres", tmp_path / f"replica-{n}", pg_env, with_pipeline=False, read_wait_ms=5000)
                for n in range(2)]
    with client_for(services[0]) as first, client_for(services[1]) as second:
        assert first.get("/readyz").json()["roles"] == {"projector": "leader"}
        generation = made(first, services[0])
        with held_back(services[0], until_asked=services[1]):
            token = share(first, generation)
            page = second.get(f"/s/{token}")
        assert page.status_code == 200, page.text
        with held_back(services[0], until_asked=services[1]):
            accepted = generate(first).json()
            seen = second.get(f"/v1/generations/{accepted['generation_id']}", headers=ALICE)
        assert seen.status_code == 200 and seen.json()["status"] == "requested", seen.text


def test_an_upload_a_generation_just_took_is_not_purged_before_the_projector_applied_the_request(
        client: TestClient, service: Service) -> None:
    buy(client)
    used, unused = (upload(client, photo()).json()["upload_id"] for _ in range(2))
    now = service.clock
    later = now() + timedelta(minutes=service.media.upload_ttl_minutes + 1)
    assert service.images is not None
    purger = UploadPurger(service.images, lambda: uploads_in_use_at_head(service.engine, service.watcher, 200),
                          lambda: later, 60)
    service.api.read_wait_ms = 200

    def kept() -> set[str]:
        assert service.images is not None
        return {u.upload_id for u in asyncio.run(service.images.uploads("alice"))}

    with held_back(service, release=False):
        accepted = client.post("/v1/generations", headers={**ALICE, **key()},
                               json={"template_id": "profile-avatar", "variables": {}, "input_upload_id": used})
        assert accepted.status_code == 202, accepted.text
        purger.run_once()  # the background pass, once both have expired
        assert used in kept()
        service.clock = lambda: later
        assert upload(client, photo()).status_code == 201  # the learner's next upload purges theirs on the way
        assert {used, unused} <= kept()
    service.clock = now
    client.get(f"/v1/generations/{accepted.json()['generation_id']}?min_position={accepted.json()['position']}",
               headers=ALICE)
    purger.run_once()  # at the head: the pending generation's photo stays, the unused one goes
    assert used in kept() and unused not in kept()


def test_the_purger_knows_the_projections_reached_the_head_when_another_process_projects(tmp_path: Path) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False, run_projector=False)
    with client_for(service) as client:
        elsewhere = Projector(service.ledger, service.engine, all_projections())
        elsewhere.setup()
        elsewhere.catch_up()  # the shipped templates imported at start
        assert service.watcher.caught_up(0)
        buy(client)
        started = time.monotonic()
        assert not service.watcher.caught_up(0.2) and time.monotonic() - started >= 0.2
        elsewhere.catch_up()
        assert service.watcher.caught_up(0.2)
