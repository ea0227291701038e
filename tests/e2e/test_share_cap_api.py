"""The share bonus cap over HTTP holds without the read tables: concurrent shares, projector stopped."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from service.container import Service
from tests.support.http import bearer, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e

ALICE = bearer("alice")
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A service whose projector never runs: the read tables stay empty."""
    pg_env = request.getfixturevalue("pg_env") if request.param == "postgres" else None
    return service_for(request.param, tmp_path, pg_env, with_pipeline=False, run_projector=False, read_wait_ms=0)


def finished_image(client: TestClient, service: Service) -> str:
    """Request an image and do what the pipeline does; the generation id."""
    response = client.post("/v1/generations", json=POSTER, headers={**ALICE, **key()})
    assert response.status_code == 202, response.text
    generation = UUID(response.json()["generation_id"])
    service.ledger.start_generation(generation_id=generation, worker="test", at=service.clock())
    service.ledger.complete_generation(
        generation_id=generation, at=service.clock(), image_url=f"/media/gallery/{generation}.png",
        storage_id=str(generation), provider="local", model="local", seed=7, timings={"render": 0.1})
    return str(generation)


def test_twenty_concurrent_shares_with_the_projector_stopped_earn_exactly_the_daily_cap(
        client: TestClient, service: Service) -> None:
    body, headers = signed(purchase("studio", "alice"))
    assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
    images = [finished_image(client, service) for _ in range(20)]

    def share(generation: str) -> int:
        response = client.post(f"/v1/generations/{generation}/share", headers={**ALICE, **key()})
        assert response.status_code == 200, response.text
        return int(response.json()["bonus_credits"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        earned = list(pool.map(share, images))
    rule = service.policy.share
    assert sorted(earned, reverse=True) == [rule.credits] * rule.max_bonuses_per_day + [0] * (
        20 - rule.max_bonuses_per_day)
    wallet = service.ledger.wallet("alice")
    assert wallet is not None and wallet.granted - wallet.grants[next(iter(wallet.grants))].amount == (
        rule.credits * rule.max_bonuses_per_day)
