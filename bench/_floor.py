"""The floor under the API's CPU per command: the least an HTTP service can do for one such request.

    python bench/_floor.py --port 8123 --db studio_bench_api_1234abcd   (started by bench/api_latency.py)

A plain ASGI app on the same server as `studio-ledger serve` (uvicorn with the same settings, the heap frozen
once started) that does for each request what a generation request cannot do without: verifies the caller's
JWT with the service's own verifier (the same secret, issuer and audience, the same memory of tokens already
checked), reads the body and parses it with the route's pydantic model (``GenerationCreate``), writes one row
to PostgreSQL (autocommit, from a pool of connections) and answers 202 with that row's id as JSON. Any GET
answers 200, so that the benchmark can wait for it as for the API. No ledger, no projections, no idempotency
record: `bench/api_latency.py` divides the API's CPU per command by this one's per request.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.http.schemas import GenerationCreate
from bench._pg import PG
from service.auth import TokenVerifier, Unauthorized

TABLE = "CREATE TABLE IF NOT EXISTS floor_requests (id bigserial PRIMARY KEY, user_id text NOT NULL, " \
        "key text NOT NULL, body jsonb NOT NULL)"
INSERT = "INSERT INTO floor_requests (user_id, key, body) VALUES (%s, %s, %s) RETURNING id"
Send = Any


class Floor:
    """The floor's ASGI app (see the module)."""

    def __init__(self, conninfo: str, verifier: TokenVerifier) -> None:
        self.verifier = verifier
        self.pool = AsyncConnectionPool(conninfo, min_size=4, max_size=20, open=False,
                                        kwargs={"autocommit": True})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            status, answer = await self.request(scope, receive)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    async def request(self, scope: dict[str, Any], receive: Any) -> tuple[int, dict[str, Any]]:
        if scope["method"] == "GET":
            return 200, {"status": "ok"}
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        try:
            caller = self.verifier.verify(token.strip() if scheme.lower() == "bearer" else "")
        except Unauthorized as error:
            return 401, {"detail": str(error)}
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            GenerationCreate.model_validate_json(body)
        except ValidationError as error:
            return 422, {"detail": str(error)}
        async with self.pool.connection() as conn:
            cursor = await conn.execute(INSERT, (caller.user_id, headers.get(b"idempotency-key", b"").decode(),
                                                 body.decode()))
            row = await cursor.fetchone()
        assert row is not None
        return 202, {"position": row[0]}

    async def lifespan(self, receive: Any, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.pool.open(wait=True)
                async with self.pool.connection() as conn:
                    await conn.execute(TABLE)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="the PostgreSQL database to write the rows to")
    args = parser.parse_args()
    conninfo = " ".join(f"{k}={v}" for k, v in {**PG, "dbname": args.db}.items() if v)
    verifier = TokenVerifier(algorithm="HS256", secret=os.environ["STUDIO_JWT_SECRET"],
                             issuer=os.environ.get("STUDIO_JWT_ISSUER", "studio-ledger"),
                             audience=os.environ.get("STUDIO_JWT_AUDIENCE", "studio-ledger"))
    gc.freeze()  # as `serve` does once started
    uvicorn.run(Floor(conninfo, verifier), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
