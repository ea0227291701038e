"""STUDIO_GENERATION_TIMEOUT_S: how long a requested generation may take before its hold expires."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from tests.support.http import bearer, client_for, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Intro to SQL", "date": "1 March"}}


@pytest.mark.parametrize(("setting", "expected"), [({}, timedelta(minutes=15)),
                                                   ({"generation_timeout_s": 45}, timedelta(seconds=45))])
def test_a_generations_hold_expires_after_the_configured_generation_timeout(
        tmp_path: Path, setting: dict[str, int], expected: timedelta) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False, **setting)
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        accepted = client.post("/v1/generations", json=POSTER, headers={**bearer("alice"), **key()})
        assert accepted.status_code == 202, accepted.text
        generation = service.ledger.generation(UUID(accepted.json()["generation_id"]))
        assert generation is not None
        assert generation.expires_at - generation.created_on == expected
        wallet = service.ledger.wallet("alice")
        assert wallet is not None and wallet.holds[generation.hold_id].expires_at == generation.expires_at


def test_a_generation_timeout_below_five_seconds_is_refused() -> None:
    from pydantic import ValidationError

    from service.settings.api import ApiSettings

    with pytest.raises(ValidationError, match="generation_timeout_s"):
        ApiSettings(generation_timeout_s=1)
