"""`studio-ledger serve` on the embedded default, driven the way the README's walkthrough does it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.embedded import CLI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
def token(env: dict[str, str], *args: str) -> str:
    """`studio-ledger token ...`, as the README runs it."""
    return subprocess.run([CLI, "token", *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_the_walkthrough_gives_credits_generates_an_image_and_shows_it_in_the_gallery(
        embedded: tuple[str, dict[str, str]]) -> None:
    base, env = embedded
    user = {"Authorization": f"Bearer {token(env, 'alice')}"}
    admin = {"Authorization": f"Bearer {token(env, 'ops', '--admin')}"}
    granted = httpx.post(f"{base}/v1/admin/wallets/alice/grants", json={"amount": 50, "reason": "welcome"},
                         headers={**admin, "Idempotency-Key": "welcome-alice"})
    assert granted.status_code == 201, granted.text
    accepted = httpx.post(f"{base}/v1/generations", headers={**user, "Idempotency-Key": "first-poster"},
                          json={"template_id": "poster-course-launch",
                                "variables": {"course": "Intro to SQL", "date": "1 March"}})
    assert accepted.status_code == 202, accepted.text
    items: list[dict[str, str]] = []
    for _ in range(100):
        items = httpx.get(f"{base}/v1/gallery", headers=user).json()["items"]
        if items:
            break
        time.sleep(0.1)
    assert [i["generation_id"] for i in items] == [accepted.json()["generation_id"]]
    image = httpx.get(base + items[0]["image_url"])
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"  # the finished JPEG
    assert image.headers["content-type"] == "image/jpeg"
    assert httpx.get(base + items[0]["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    wallet = httpx.get(f"{base}/v1/wallet", headers=user).json()
    assert (wallet["available"], wallet["held"], wallet["lifetime"]["spent"]) == (45, 0, 5)


def test_outside_the_embedded_default_serve_refuses_the_default_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_STORE="postgres", STUDIO_DATA_DIR=str(tmp_path))
    done = subprocess.run([CLI, "serve"], check=False, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "STUDIO_JWT_SECRET" in done.stderr and "Traceback" not in done.stderr
    refused = subprocess.run([CLI, "token", "alice"], check=False, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "embedded default" in refused.stderr
