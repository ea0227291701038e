"""A fake of the platform's wallet, served over real HTTP on a free port: it checks our signature, keeps
balances and debits by id, and can be made slow, failing, twice-answering, lying or down."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.http.signatures import check_signature, parse_header

SECRET = "a-platform-secret-that-is-long-enough"


@dataclass
class Behaviour:
    """How the fake misbehaves: ``slow_s`` before answering a debit, ``fail_debits`` 500s first, ``drop_after``
    (take the money, then answer 500), ``lie``: answer about another debit."""

    slow_s: float = 0.0
    fail_debits: int = 0
    drop_after: int = 0
    lie: bool = False
    decline: str = ""


@dataclass
class FakePlatform:
    """The platform's state: balances, debits taken (by id) and every debit request received."""

    balances: dict[str, int] = field(default_factory=dict)
    debits: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        """The ASGI app."""

        async def balance(request: Request) -> Response:
            user = request.path_params["user_id"]
            return JSONResponse({"balance_minor": self.balances.get(user, 0), "currency": "INR"})

        async def debit(request: Request) -> Response:
            body = await request.body()
            check_signature(SECRET, body, parse_header(request.headers.get("Studio-Signature"), now=time.time(),
                                                       tolerance=300))
            data = json.loads(body)
            with self.lock:
                self.received.append(data["debit_id"])
                failing = self.behaviour.fail_debits > 0
                if failing:
                    self.behaviour.fail_debits -= 1
            if self.behaviour.slow_s:
                await asyncio.sleep(self.behaviour.slow_s)
            if failing:
                return JSONResponse({"error": "try later"}, status_code=500)
            answer = self._take(data)
            if self.behaviour.drop_after > 0:
                self.behaviour.drop_after -= 1
                return JSONResponse({"error": "lost"}, status_code=502)
            if self.behaviour.lie:
                return JSONResponse({**answer, "debit_id": "someone-else"})
            return JSONResponse(answer)

        async def fate(request: Request) -> Response:
            found = self.debits.get(request.path_params["debit_id"])
            return JSONResponse(found) if found else JSONResponse({"error": "unknown debit"}, status_code=404)

        return Starlette(routes=[Route("/wallet/debits", debit, methods=["POST"]),
                                 Route("/wallet/debits/{debit_id}", fate),
                                 Route("/wallet/{user_id}", balance)])

    def _take(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if data["debit_id"] in self.debits:  # the same debit asked again: the same answer, no second charge
                return self.debits[data["debit_id"]]
            left = self.balances.get(data["user_id"], 0)
            if self.behaviour.decline or data["amount_minor"] > left:
                answer = {"debit_id": data["debit_id"], "status": "declined",
                          "reason": self.behaviour.decline or "insufficient balance"}
            else:
                self.balances[data["user_id"]] = left - data["amount_minor"]
                answer = {"debit_id": data["debit_id"], "status": "confirmed"}
            self.debits[data["debit_id"]] = answer
            return answer


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """The fake served by uvicorn on a thread of this process, until ``stop()``."""

    def __init__(self, platform: FakePlatform) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(platform.app(), host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving (the platform goes down)."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
