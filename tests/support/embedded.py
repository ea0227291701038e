"""The embedded default started as a learner would start it: the studio-ledger command, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("studio-ledger"))


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_serve(folder: Path, settings: dict[str, str], *, command: list[str] | None = None,
                  ready: str = "/readyz", within_s: float = 30.0) -> Iterator[tuple[str, dict[str, str]]]:
    """`studio-ledger serve` (or ``command``) in ``folder`` on a free port with these STUDIO_* ``settings``
    (none inherited from this process; ``{port}`` in a value is the port), until the block ends: its base
    URL and environment once ``ready`` answers 200; stopped with SIGTERM, then SIGKILL if it must (a
    deadlocked process ends only that way)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_DATA_DIR=str(folder / "data"), STUDIO_PORT=str(port),
               STUDIO_PUBLIC_URL=f"http://127.0.0.1:{port}")
    env.update({name: value.replace("{port}", str(port)) for name, value in settings.items()})
    log = folder / "serve.log"
    process = subprocess.Popen(command or [CLI, "serve"], cwd=folder, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        yield base, env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def embedded_service(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A `studio-ledger serve` process with a fresh data folder; its base URL and environment."""
    with running_serve(tmp_path, {}, within_s=20.0) as running:
        yield running
