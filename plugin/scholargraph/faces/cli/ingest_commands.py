"""Commands that bring papers in: `ingest` (files and folders) and `import` (a reference manager's library)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from scholargraph.errors import ScholarGraphError
from scholargraph.faces.cli.command_kit import KB_HELP, library_of, setting_default, setting_option, settings_of
from scholargraph.faces.cli.terminal import err, fail, print_json


def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    kb: str = typer.Option("default", "--kb", help=KB_HELP),
    workers: Optional[int] = setting_option("parsing.workers", "--workers", help="Parse worker processes (0 = a parse thread beside embedding, the default)."),
    executor: Optional[str] = setting_option(
        "parsing.executor", "--executor", help="Where parsing runs: 'local' or 'ray' (bulk imports; pip install 'scholargraph[ray]')."),
    address: Optional[str] = setting_option("parsing.ray_address", "--address", help="Ray cluster address for --executor ray (default: RAY_ADDRESS, else a local Ray)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Parse, chunk, embed and store papers; build their graph. Safe to re-run."""
    try:
        ctx.obj["settings"] = settings_of(ctx).with_overrides(
            {"parsing.workers": workers, "parsing.executor": executor, "parsing.ray_address": address})
    except Exception as exc:
        err.print(f"[red]error:[/red] invalid settings: {exc}")
        raise typer.Exit(2)
    from scholargraph.faces.cli.ingest_progress import IngestProgress, stage_times

    library = library_of(ctx)

    def sizes(paper_id: str) -> tuple[int, int]:
        row = library.get_paper(paper_id, [kb])
        return (int(row["pages"] or 0), int(row["chunks"] or 0)) if row else (0, 0)

    found, refused = library.discover(paths)
    try:
        if as_json:
            report = library.ingest(paths, scope=kb)
        else:
            with IngestProgress(err, found + [Path(p) for p, _ in refused], sizes) as on_event:
                report = library.ingest(paths, scope=kb, progress=on_event)
    except ScholarGraphError as exc:
        fail(exc)
    if as_json:
        print_json(report.to_json())
    else:
        err.print(report.summary() + f" ({report.chunks} chunks, {report.wall_seconds:.1f} s; {stage_times(report)})",
                  highlight=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


def import_command(
    ctx: typer.Context,
    file: Optional[Path] = typer.Argument(None, help="A .bib, .ris or CSL-JSON file (entries with a file field bring their PDF), "
                                          "or Zotero's data folder (the one holding zotero.sqlite and storage/); "
                                          "none with --zotero-api."),
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: 'default'; 'zotero' for a Zotero folder."),
    collections: bool = typer.Option(True, "--collections/--no-collections",
                                     help="Zotero: each collection also becomes a scope KB/Collection/Sub."),
    linked_base: Optional[Path] = typer.Option(None, "--linked-base",
                                               help="Zotero: the Linked Attachment Base Directory, for relative linked files."),
    zotero_api: Optional[str] = setting_option(
        "zotero.api", "--zotero-api", help="Import through the Zotero API instead of a file: 'local' (the running Zotero 7 "
        "desktop app) or 'web' (api.zotero.org, with --zotero-library and a key).", show_default=False),
    zotero_library: Optional[str] = setting_option(
        "zotero.library", "--zotero-library", help="Zotero API: 'users/<userID>' or 'groups/<groupID>' (setting zotero.library).",
        show_default=setting_default("zotero.library")),
    zotero_key: Optional[str] = setting_option(
        "zotero.api_key", "--zotero-key", help="Zotero Web API key; better from env SCHOLARGRAPH_ZOTERO__API_KEY (setting "
        "zotero.api_key). Never printed.", show_default=False),
    full: bool = typer.Option(False, "--full", help="Zotero API: read the whole library again, not only what changed."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import a reference manager's library: PDFs with the entry's metadata, other entries as metadata-only papers.
    Re-importing a Zotero folder or API library only brings what changed; items deleted in Zotero leave."""
    from scholargraph.library_io.bib_import import ImportReport, import_file

    def on_entry(name: str, status: str) -> None:
        if not as_json:
            err.print(f"{escape(name)}: {escape(status)}", highlight=False)

    report: ImportReport
    try:
        if zotero_api or file is None:
            from scholargraph.library_io.zotero_api import import_zotero_api

            if file is not None or not zotero_api:
                raise ScholarGraphError("give a file, a Zotero data folder, or --zotero-api local|web (one of them)")
            report = import_zotero_api(library_of(ctx), kb=kb or "zotero", api=zotero_api,
                                       zotero_library=zotero_library, key=zotero_key, collections=collections,
                                       full=full, progress=on_entry)
        elif file.is_dir() or file.name == "zotero.sqlite":
            from scholargraph.library_io.zotero import import_zotero

            folder = file if file.is_dir() else file.parent
            report = import_zotero(library_of(ctx), folder, kb=kb or "zotero", collections=collections,
                                   linked_base=linked_base, progress=on_entry)
        else:
            report = import_file(library_of(ctx), file, scope=kb or "default", progress=on_entry)
    except ScholarGraphError as exc:
        fail(exc)
    if as_json:
        print_json(report.to_json())
    else:
        for note in report.notes:
            err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
        err.print(report.summary())
    if report.failed:
        raise typer.Exit(1)
