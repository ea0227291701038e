"""The edge in front of every route, as plain ASGI: a request body over its route's limit is refused with a
413 problem (at once by its Content-Length, or as soon as a streamed body passes the limit), and a route
that needs a caller checks the bearer token before a byte of the body is read.

FastAPI reads (and for multipart, spools to disk) a route's body before its dependencies run, so without
this an unauthenticated 150 MB body was read in full to be answered 401.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import problems
from api.http.problems import BodyTooLarge, Problem

log = logging.getLogger(__name__)
CONTENT_LENGTH = re.compile(rb"[0-9]{1,18}")  # ASCII: the header is bytes here, never '²'
Authenticate = Callable[[str | None], Awaitable[object]]  # the Authorization header -> a caller, or raises


@dataclass(frozen=True)
class Rule:
    """What a route takes: the most bytes of body, and whether a caller must be known before it is read."""

    limit: int
    needs_caller: bool


class Edge:
    """Body limits by route and authentication before the body (see the module)."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute], limit: int, larger: dict[str, int],
                 needs_caller: Callable[[Dependant], bool], authenticate: Authenticate) -> None:
        self.app = app
        self.routes = routes
        self.limit = limit
        self.larger = larger  # route path -> its own limit (uploads)
        self.needs_caller = needs_caller
        self.authenticate = authenticate
        self._rules: list[tuple[BaseRoute, Rule]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length, chunked = headers.get(b"content-length"), b"transfer-encoding" in headers
        if length is None and not chunked:  # no body: nothing to limit, and the route checks its caller
            await self.app(scope, receive, send)
            return
        rule = self.rule(scope)
        try:
            if length is not None and not CONTENT_LENGTH.fullmatch(length):
                raise Problem(400, "invalid-content-length", "Invalid Content-Length",
                              "the Content-Length header must be a number of bytes")
            if length is not None and int(length) > rule.limit:
                raise BodyTooLarge(rule.limit)
            if rule.needs_caller and (length != b"0" or chunked):
                await self.authenticate(headers.get(b"authorization", b"").decode("latin-1") or None)
        except Exception as error:  # a refusal before the body: answered like any route's error
            problem = problems.translate(error)
            if problem.status >= 500:  # a key set that cannot be fetched, say: logged as the routes log it
                log.error("request %s %s failed before its body", scope["method"], scope["path"], exc_info=error)
            await problem.response(scope["path"])(scope, receive, send)
            return
        await Limited(self.app, rule.limit)(scope, receive, send)

    def rule(self, scope: Scope) -> Rule:
        """The rule of the route that will answer ``scope``: the default limit where none matches."""
        if self._rules is None:  # the routes are all known by the first request
            self._rules = [(route, self._rule_of(route)) for route in self.routes]
        for route, rule in self._rules:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return rule
        return Rule(self.limit, needs_caller=False)

    def _rule_of(self, route: BaseRoute) -> Rule:
        limit = self.larger.get(getattr(route, "path", ""), self.limit)
        return Rule(limit, needs_caller=isinstance(route, APIRoute) and self.needs_caller(route.dependant))


class Limited:
    """One request whose streamed body is counted: past ``limit`` bytes it is refused with a 413 problem,
    whatever the route was doing with it (FastAPI turns a failed read into a 400, which is replaced)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.seen = 0
        self.over = False
        self.answered = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.seen += len(message.get("body", b""))
                if self.seen > self.limit:
                    self.over = True
                    raise BodyTooLarge(self.limit)
            return message

        async def answer(message: Message) -> None:
            if not self.over:
                await send(message)
            elif message["type"] == "http.response.start" and not self.answered:
                self.answered = True
                await BodyTooLarge(self.limit).response(scope["path"])(scope, receive, send)

        try:
            await self.app(scope, counted, answer)
        except BodyTooLarge:
            if not self.answered:
                self.answered = True
                await BodyTooLarge(self.limit).response(scope["path"])(scope, receive, send)
