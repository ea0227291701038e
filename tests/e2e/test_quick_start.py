"""What a newcomer needs: `serve` says where it answers, where the data is and how to get a token; it
listens where told, and share links follow it; the README's defaults are the code's."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.settings.api import ApiSettings
from service.settings.store import StoreSettings

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_share_links_follow_the_port_unless_a_public_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STUDIO_PUBLIC_URL", "STUDIO_HOST", "STUDIO_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert ApiSettings().public_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("STUDIO_PORT", "8002")
    assert ApiSettings().public_url == "http://127.0.0.1:8002"
    assert ApiSettings(host="0.0.0.0", port=9001).public_url == "http://127.0.0.1:9001"
    monkeypatch.setenv("STUDIO_PUBLIC_URL", "https://studio.example.com")
    assert ApiSettings().public_url == "https://studio.example.com"


def test_serve_listens_where_told_and_says_where_it_is_and_how_to_get_a_token(tmp_path: Path) -> None:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}, "STUDIO_DATA_DIR": str(tmp_path),
           "STUDIO_PORT": "1"}  # the option wins over the variable
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              start_new_session=True)
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(4)]
        assert f"Studio Ledger on http://127.0.0.1:{port}" in banner[0]
        assert f"http://127.0.0.1:{port}/docs" in banner[0]
        assert f"data folder: {tmp_path.resolve()}" in banner[1]
        assert re.search(r"a token for user alice: \S*studio-ledger token alice", banner[2]), banner
        assert banner[3].startswith("demo sign-in and purchase: on"), banner
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service never answered"
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_readme_gives_group_commit_its_real_defaults() -> None:
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `STUDIO_GROUP_COMMIT`"))
    documented = [v.strip("` ") for v in row.split("|")[2].split(",")]
    defaults = StoreSettings.model_fields
    linger = defaults["group_commit_linger_ms"].default
    assert documented == [str(defaults["group_commit"].default).lower(),
                          str(int(linger)) if linger == int(linger) else str(linger),
                          str(defaults["group_commit_max_batch"].default)]


def test_make_run_passes_port_and_host_to_serve(tmp_path: Path) -> None:
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than pyproject.toml: nothing to install
    shown = subprocess.run(["make", "-n", "-s", "run", "PORT=8002", "HOST=0.0.0.0", f"STAMP={stamp}"],
                           cwd=ROOT, capture_output=True, text=True, check=True, timeout=30).stdout
    assert re.search(r"studio-ledger serve\s+--host 0\.0\.0\.0\s+--port 8002", shown), shown
