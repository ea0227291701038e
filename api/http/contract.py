"""The HTTP API as an OpenAPI document, built from the routes without a running service.

Regenerate the committed copy (and the TypeScript client's schema) with ``make openapi``; alone:
``python -m api.http.contract docs/openapi.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from api.http.app import create_app
from service.bootstrap import build_service
from service.settings import ApiSettings, MediaSettings, Settings, StoreSettings

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    """The OpenAPI document the service publishes at /openapi.json, whatever the environment says."""
    with tempfile.TemporaryDirectory(prefix="studio-openapi-") as folder:
        # Defaults only (model_construct reads no environment): the document depends on the routes alone.
        service = build_service(Settings(api=ApiSettings.model_construct(),
                                         store=StoreSettings.model_construct(backend="memory", data_dir=Path(folder)),
                                         media=MediaSettings.model_construct(data_dir=Path(folder))),
                                with_pipeline=False)
        try:
            return create_app(service, manage=False).openapi()
        finally:
            service.ledger.close()
            service.engine.dispose()


def dumps(spec: dict[str, Any]) -> str:
    """The document as the committed file has it."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Print the document, or write it to the path given as the only argument."""
    text = dumps(document())
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
