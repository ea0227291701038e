"""`studio-ledger templates import DIR | export DIR`: catalogue files in and out of the ledger, so a team
can still review templates in git."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

templates_app = typer.Typer(help="Templates: import catalogue files into the ledger, export them back.",
                            no_args_is_help=True)
Folder = Annotated[Path, typer.Argument(help="A folder of <template id>.toml files.")]


@templates_app.command("import")
def import_templates(folder: Folder,
                     by: str = typer.Option("studio-ledger templates import", help="Who the change is recorded as."),
                     ) -> None:
    """Publish each file whose fields differ from its template's newest version (an unchanged file is no new
    version); every file is validated, and checked as publishing checks it, before anything is written."""
    from service.bootstrap import build_ledger, build_policy
    from service.settings import Settings
    from service.template_checks import Rendering, publish_problems
    from service.templates import import_folder

    settings = Settings()
    max_cost = build_policy(settings).max_template_cost
    rendering = Rendering(settings.media.image_provider, settings.media.providers())
    ledger = build_ledger(settings)
    try:
        done = import_folder(ledger, folder, at=datetime.now(UTC), by=by,
                             check=lambda t: publish_problems(t, max_cost=max_cost, rendering=rendering))
    finally:
        ledger.close()
    for template_id, version in sorted(done.versions.items()):
        typer.echo(f"published {template_id} version {version}")
    for template_id in done.unchanged:
        typer.echo(f"unchanged {template_id}")


@templates_app.command("export")
def export_templates(
        folder: Folder,
        template_id: Annotated[list[str] | None, typer.Option("--id", help="Only these templates.")] = None,
) -> None:
    """Write the newest published version of every template (as projected, and any with a file in the
    folder) to <folder>/<id>.toml, in the catalogue files' layout."""
    from projections.templates import catalog_rows
    from service.bootstrap import build_ledger, build_projector
    from service.templates import export_folder

    ledger = build_ledger()
    try:
        projector = build_projector(ledger=ledger)
        with projector.engine.connect() as conn:
            _, rows, _ = catalog_rows(conn)
        projector.engine.dispose()
        known = {r["template_id"] for r in rows if r["latest_version"]} | {p.stem for p in folder.glob("*.toml")}
        written = export_folder(ledger, folder, sorted(template_id or known))
    finally:
        ledger.close()
    for path in written:
        typer.echo(f"wrote {path}")
