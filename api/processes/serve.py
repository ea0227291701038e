"""`studio-ledger serve`: the HTTP API (and, on the embedded default, the projector and the pipeline)."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from api.processes import log_traced_to_stderr
from service import tracing
from service.bootstrap import build_service
from service.settings import ApiSettings, Settings, StoreSettings, demo_refused, is_embedded


def serve(*, host: str | None = None, port: int | None = None) -> None:
    """Run the API until interrupted; ``host`` and ``port`` override STUDIO_HOST and STUDIO_PORT (and so
    the default STUDIO_PUBLIC_URL)."""
    import uvicorn

    from api.http.app import create_app

    overrides: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if tracing.configure("serve"):  # the service's own log lines name their trace and span
        log_traced_to_stderr()
    service = build_service(Settings.read(**overrides))
    app = create_app(service)
    signing = service.pipeline.handler.credentials if service.pipeline is not None else None
    print(welcome(service.api, service.store, credentials=signing.origin if signing else None),
          flush=True)  # the newcomer's first lines
    # Everything built so far lives as long as the process: keep it out of the collector's full
    # passes, which otherwise walk all of it (some 150,000 objects: 80 to 120 ms with the GIL held,
    # every 20 to 30 s at 200 commands/s) and stall every request in flight.
    gc.freeze()
    uvicorn.run(app, host=service.api.host, port=service.api.port, log_level="info")


def welcome(api: ApiSettings, store: StoreSettings, *, credentials: str | None = None) -> str:
    """What `serve` prints first: where the service answers, where its data lives, on the embedded default how
    to get a token, whether the demo sign-in and purchase are on (and why not), and how images are signed."""
    base = api.public_url.rstrip("/")
    lines = [f"Studio Ledger on {base}  (API docs {base}/docs)"]
    if store.backend == "postgres":
        lines.append(f"event store: PostgreSQL {store.postgres_host}:{store.postgres_port}/{store.postgres_db}; "
                     f"images in {store.data_dir.resolve() / 'media'}")
    else:
        lines.append(f"data folder: {store.data_dir.resolve()}  (events.db, read.db, media/)")
    if is_embedded(store, api):
        command = sys.argv[0] if sys.argv and sys.argv[0].endswith("studio-ledger") else "studio-ledger"
        if os.path.isabs(command) and command.startswith(os.getcwd() + os.sep):
            command = os.path.relpath(command)
        lines.append(f"a token for user alice: {command} token alice  (add --admin for an admin token)")
    if (off := demo_refused(store, api)) is not None:
        lines.append(f"demo sign-in and purchase: off ({off}); /v1/dev answers 404")
    else:
        lines.append("demo sign-in and purchase: on (the embedded default, on loopback only)")
    if credentials is not None:
        lines.append(f"content credentials: {credentials}")
    return "\n".join(lines)


def token(user_id: str, roles: Sequence[str], ttl_minutes: int | None) -> str:
    """A token for ``user_id``, signed with the embedded default's secret; refused anywhere else."""
    from api.http.auth import issue_token

    settings = Settings()
    api = settings.api
    if not settings.embedded:
        raise PermissionError("tokens are printed only on the embedded default; "
                              "outside it tokens come from your identity provider")
    minutes = ttl_minutes or api.token_ttl_minutes
    return issue_token(api.jwt_secret.get_secret_value(), user_id, issuer=api.jwt_issuer, audience=api.jwt_audience,
                       roles=tuple(roles), ttl=timedelta(minutes=minutes))
