"""Liveness and readiness over HTTP for the processes that serve no HTTP of their own.

The relay, the inbound and result consumers, the worker, the projector and the sweeper answer
``GET /healthz`` (alive: the process's own loop still turns) and ``GET /readyz`` (ready: what it
depends on answers) on ``--health-port``, for Kubernetes' probes. Each check is a function that
returns ``"ok"`` or says what is wrong; a check that raises or takes too long fails with its error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)
Check = Callable[[], str]


class Probes:
    """Named liveness and readiness checks, served on a port from a background thread."""

    def __init__(self) -> None:
        self.live: dict[str, Check] = {}
        self.ready: dict[str, Check] = {}
        self.info: dict[str, Callable[[], str]] = {}  # reported beside the checks, never failing them
        self._server: ThreadingHTTPServer | None = None

    def results(self, checks: dict[str, Check]) -> dict[str, str]:
        """Each check's answer: ``"ok"`` or what is wrong."""
        answers = {}
        for name, check in checks.items():
            try:
                answers[name] = check()
            except Exception as error:  # a probe reports a failure, it never raises one
                answers[name] = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return answers

    def serve(self, port: int, host: str = "0.0.0.0") -> int:  # noqa: S104 (probes come from the kubelet)
        """Answer probes on ``port`` (0: a free one) until ``stop()``; returns the port."""
        probes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                checks = {"/healthz": probes.live, "/readyz": probes.ready}.get(self.path.split("?")[0])
                if checks is None:
                    self.send_error(404, "probes are /healthz and /readyz")
                    return
                answers = probes.results(checks)
                ok = all(a == "ok" for a in answers.values())
                info = {name: describe() for name, describe in probes.info.items()}
                body = json.dumps({"status": "ok" if ok else "failing", "checks": answers, **info}).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per probe every few seconds would drown the process's own log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="probes", daemon=True).start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop answering."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def loop_turns(loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> Check:
    """Alive while ``loop`` runs a trivial callback within ``timeout`` seconds (not blocked, not stopped)."""

    async def nothing() -> None:
        return None

    def check() -> str:
        if loop.is_closed() or not loop.is_running():
            return "the event loop is not running"
        try:
            asyncio.run_coroutine_threadsafe(nothing(), loop).result(timeout)
        except FutureTimeout:
            return f"the event loop did not answer within {timeout:g} s"
        return "ok"

    return check


def beats_within(last_beat: Callable[[], float], seconds: float) -> Check:
    """Alive while ``last_beat()`` (a ``time.monotonic()`` reading) is at most ``seconds`` old."""

    def check() -> str:
        age = time.monotonic() - last_beat()
        return "ok" if age <= seconds else f"no progress for {age:.0f} s"

    return check


def store_answers(app: Any) -> Check:
    """Ready while the event store answers a query for the head of the log."""

    def check() -> str:
        app.recorder.max_notification_id()
        return "ok"

    return check


def start_probes(port: int) -> Probes | None:
    """Probes served on ``port``, or None when ``port`` is 0 (off)."""
    if not port:
        return None
    probes = Probes()
    probes.serve(port)
    log.info("answering probes on port %d (/healthz, /readyz)", port)
    return probes


def watch_app(probes: Probes, app: Any) -> None:
    """Checks for a FastStream ``app``: alive while its event loop turns, ready while its broker answers a ping."""
    probes.ready["broker"] = lambda: "starting"
    probes.live["event loop"] = lambda: "ok"  # until the loop starts, being up is all there is to say

    @app.after_startup  # type: ignore[untyped-decorator]
    async def _watch() -> None:
        loop = asyncio.get_running_loop()
        broker = app.broker
        probes.live["event loop"] = loop_turns(loop)

        def pinged() -> str:
            answered = asyncio.run_coroutine_threadsafe(broker.ping(timeout=2.0), loop).result(3.0)
            return "ok" if answered else "the broker did not answer a ping"

        probes.ready["broker"] = pinged
