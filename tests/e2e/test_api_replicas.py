"""Two API replicas on one PostgreSQL ledger, as a deployment runs them behind a load balancer: a repeat
that reaches the other replica answers like the first, racing first attempts make one generation, and
requests spread over both never hold more credits than the wallet has."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from media.image_stores.naming import THUMBNAIL_SUFFIX
from tests.support.http import bearer, client_for, purchase, service_for, signed

pytestmark = pytest.mark.e2e
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


@pytest.fixture
def replicas(pg_env: dict[str, str], tmp_path: Path) -> Iterator[list[TestClient]]:
    """Two running API services with group commit on the same event store and read database."""
    services = [service_for("postgres", tmp_path / f"replica-{n}", pg_env, with_pipeline=False,
                            learner_generations=100) for n in range(2)]
    with client_for(services[0]) as first, client_for(services[1]) as second:
        yield [first, second]


def fund(client: TestClient, user: str, pack: str = "starter") -> None:
    """Credit a pack (100 credits for the starter) through the signed webhook."""
    body, headers = signed(purchase(pack, user))
    response = client.post("/v1/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 200, response.text


def generate(client: TestClient, user: str, key: str, body: dict[str, Any] = POSTER) -> Any:
    """POST /v1/generations as ``user`` under ``key``."""
    return client.post("/v1/generations", json=body, headers={**bearer(user), "Idempotency-Key": key})


def wallet(client: TestClient, user: str, position: int = 0) -> dict[str, Any]:
    """The user's wallet once the projections reach ``position``."""
    response = client.get(f"/v1/wallet?min_position={position}", headers=bearer(user))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_repeat_reaching_the_other_replica_answers_like_the_first(replicas: list[TestClient]) -> None:
    first, second = replicas
    fund(first, "asha")
    accepted = generate(first, "asha", "poster-1")
    assert accepted.status_code == 202, accepted.text
    repeated = generate(second, "asha", "poster-1")
    assert (repeated.status_code, repeated.json()) == (202, accepted.json())
    other = generate(second, "asha", "poster-1", {**POSTER, "variables": {"course": "Another", "date": "2 May"}})
    assert other.status_code == 409, other.text
    assert other.json()["type"].endswith("idempotency-key-reused")
    seen = wallet(second, "asha", accepted.json()["position"])
    assert (seen["available"], seen["held"]) == (95, 5)


def test_first_attempts_racing_on_both_replicas_make_one_generation(replicas: list[TestClient]) -> None:
    fund(replicas[0], "ravi")
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: generate(replicas[n % 2], "ravi", "same-key"), range(8)))
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    assert len({a.json()["generation_id"] for a in answers}) == 1
    seen = wallet(replicas[1], "ravi", max(a.json()["position"] for a in answers))
    assert (seen["available"], seen["held"]) == (95, 5)


def test_requests_spread_over_both_replicas_hold_no_more_than_the_wallet_has(replicas: list[TestClient]) -> None:
    users = ["meera", "arjun", "kiran"]
    for user in users:
        fund(replicas[0], user)  # 100 credits each: twenty posters of 5

    def request(n: int) -> tuple[str, int, int]:
        rng = random.Random(n)
        user = rng.choice(users)
        answer = generate(rng.choice(replicas), user, f"spread-{n}")
        return user, answer.status_code, int(answer.json().get("position", 0))

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(request, range(120)))

    statuses = Counter(status for _, status, _ in answers)
    assert set(statuses) <= {202, 402}, statuses  # accepted, or not enough credits: never a conflict or a 500
    accepted = Counter(user for user, status, _ in answers if status == 202)
    last = max(position for _, _, position in answers)
    for user in users:
        seen = wallet(replicas[1], user, last)
        assert seen["held"] == 5 * accepted[user], (user, seen)
        assert seen["available"] == 100 - 5 * accepted[user] >= 0
    assert sum(accepted.values()) == 60  # every credit of the three wallets held once, none twice


def test_each_part_works_in_one_replica_and_the_other_stands_by(pg_env: dict[str, str], tmp_path: Path) -> None:
    """Both replicas started with every part on (the embedded default's settings, on PostgreSQL): one
    projects, renders and sweeps, the other stands by, and an image asked of either is made once."""
    folders = [tmp_path / "replica-0", tmp_path / "replica-1"]
    services = [service_for("postgres", folder, pg_env) for folder in folders]
    with client_for(services[0]) as first, client_for(services[1]) as second:
        roles = [client.get("/readyz").json()["roles"] for client in (first, second)]
        assert {part: sorted(r[part] for r in roles) for part in roles[0]} == {
            part: ["leader", "standby"] for part in ("projector", "pipeline", "sweeper")}
        fund(second, "dev")
        made = [generate(client, "dev", f"d-{n}").json() for n, client in enumerate((first, second))]
        for generation in made:
            for client in (first, second):  # reads through the standby see what the leader projected
                for _ in range(100):
                    status = client.get(f"/v1/generations/{generation['generation_id']}", headers=bearer("dev"))
                    if status.json()["status"] == "completed":
                        break
                    time.sleep(0.1)
                assert status.json()["status"] == "completed", status.text
        seen = wallet(second, "dev", max(g["position"] for g in made))
        assert (seen["available"], seen["held"]) == (90, 0)
    images = [path for folder in folders for path in (folder / "media" / "gallery").glob("*.jpg")
              if not path.name.endswith((THUMBNAIL_SUFFIX, "_og.jpg"))]  # the images, not what is derived
    assert len(images) == 2, images  # each rendered once, by the replica that leads the pipeline


def test_when_the_leading_replica_stops_the_other_takes_its_projector_over(pg_env: dict[str, str],
                                                                           tmp_path: Path) -> None:
    services = [service_for("postgres", tmp_path / f"replica-{n}", pg_env, with_pipeline=False) for n in range(2)]
    with ExitStack() as first_replica:
        leading = first_replica.enter_context(client_for(services[0]))  # started first: it leads
        with client_for(services[1]) as standing_by:
            assert leading.get("/readyz").json()["roles"] == {"projector": "leader"}
            assert standing_by.get("/readyz").json()["roles"] == {"projector": "standby"}
            fund(leading, "tara")
            first_replica.close()  # the leader stops and gives its lock up
            deadline = time.monotonic() + 15
            while standing_by.get("/readyz").json()["roles"] != {"projector": "leader"}:
                assert time.monotonic() < deadline, "the standby never took the projector over"
                time.sleep(0.2)
            accepted = generate(standing_by, "tara", "after-takeover")
            assert accepted.status_code == 202, accepted.text
            seen = wallet(standing_by, "tara", accepted.json()["position"])
            assert (seen["available"], seen["held"]) == (95, 5)


def test_a_template_published_through_one_replica_reaches_learners_on_both_within_seconds(
        replicas: list[TestClient]) -> None:
    first, second = replicas
    fields = {**first.get("/v1/admin/templates/poster-webinar", headers=bearer("ops", "templates")).json()
              ["versions"][0]["fields"], "id": "diwali-offer", "title": "Diwali offer"}
    saved = first.put("/v1/admin/templates/diwali-offer?reason=festival", json=fields,
                      headers={**bearer("ops", "templates"), "Idempotency-Key": "diwali-draft"})
    assert saved.status_code == 200, saved.text
    published = first.post("/v1/admin/templates/diwali-offer/publish", json={"reason": "approved"},
                           headers={**bearer("ops", "templates"), "Idempotency-Key": "diwali-publish"})
    assert published.status_code == 200, published.text
    started = time.monotonic()
    while not all(c.get("/v1/templates/diwali-offer").status_code == 200 for c in replicas):
        assert time.monotonic() - started < 5, "a replica did not see the publish within 5 s"
        time.sleep(0.05)
    fund(second, "leela")
    accepted = generate(second, "leela", "diwali-1", {"template_id": "diwali-offer",
                                                      "variables": {"topic": "Flat 40% off", "time": "Sunday"}})
    assert accepted.status_code == 202, accepted.text
