"""Commands that read or edit the library without a model: papers, graph, delete, stats, show, export,
reading-list. None of them may import Chroma or the embedding model (tests/test_cli.py checks)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from scholargraph.errors import ScholarGraphError
from scholargraph.faces.cli.command_kit import KB_HELP, KBS_OPTION, library_of
from scholargraph.faces.cli.terminal import EMPTY_HINT, console, err, fail, print_json, require_papers


def papers(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the papers in the library."""
    library = library_of(ctx)
    require_papers(library, [kb] if kb else None)
    rows = library.papers([kb] if kb else None)
    out: list[dict[str, Any]] = [
        {k: r.get(k) for k in ("id", "title", "authors", "year", "doi", "arxiv_id", "language", "source", "chunks")}
        for r in rows
    ]
    if as_json:
        print_json(out)
        return
    table = Table("id", "title", "authors", "year", "lang", "chunks")
    for r in out:
        authors = ", ".join(r["authors"][:3]) + (" et al." if len(r["authors"] or []) > 3 else "")
        table.add_row(r["id"], r["title"], authors, str(r["year"] or ""), r["language"] or "", str(r["chunks"]))
    console.print(table)


def graph(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {nodes, edges}."),
) -> None:
    """Show the paper graph: citations, similar papers, shared authors."""
    library = library_of(ctx)
    require_papers(library, [kb] if kb else None)
    data = library.graph_json([kb] if kb else None)
    if as_json:
        print_json(data)
        return
    titles = {n["id"]: n["title"] for n in data["nodes"]}
    table = Table("kind", "from", "to", "weight")
    for e in sorted(data["edges"], key=lambda e: (e["kind"], -e["weight"])):
        table.add_row(e["kind"], titles.get(e["source"], e["source"])[:60], titles.get(e["target"], e["target"])[:60], f"{e['weight']:.2f}")
    console.print(f"{len(data['nodes'])} papers, {len(data['edges'])} edges")
    console.print(table)


def delete(
    ctx: typer.Context,
    paper_id: str = typer.Argument(..., help="Paper id (see `scholargraph papers`)."),
    kb: Optional[str] = typer.Option(None, "--kb", help="Remove from this knowledge base only."),
) -> None:
    """Delete a paper: its chunks, vectors and edges; references to it become unresolved."""
    library = library_of(ctx)
    require_papers(library)
    try:
        found = library.delete(paper_id, scope=kb)
    except ScholarGraphError as exc:
        fail(exc)
    if not found:
        err.print(f"[red]error:[/red] no paper {paper_id}" + (f" in '{kb}'" if kb else ""))
        raise typer.Exit(1)
    err.print(f"deleted {paper_id}")


def stats(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Counts of papers, chunks, references and edges, and where they are stored."""
    data = library_of(ctx).stats([kb] if kb else None)
    if as_json:
        print_json(data)
    else:
        table = Table("what", "value")
        for key, value in data.items():
            table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        console.print(table)
    if not data["papers"]:
        err.print(f"{'no papers in ' + repr(kb) if kb else 'the library is empty'}: {EMPTY_HINT}", highlight=False)


def show(
    ctx: typer.Context,
    paper_id: str = typer.Argument(..., help="Paper id (see `scholargraph papers`)."),
    kb: Optional[list[str]] = KBS_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One paper: metadata, abstract, sections, what it cites in and outside the library, what cites it, similar papers."""
    require_papers(library_of(ctx), kb or None)
    try:
        data = library_of(ctx).show_paper(paper_id, kb or None)
    except ScholarGraphError as exc:
        fail(exc)
    if data is None:
        err.print(f"[red]error:[/red] no paper {escape(paper_id)}" + (f" in {', '.join(kb)}" if kb else ""))
        raise typer.Exit(1)
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{escape(data['title'])}[/bold]", highlight=False)
    console.print(", ".join(data["authors"]) + (f" ({data['year']})" if data["year"] else ""), highlight=False)
    for name, url in data["links"].items():
        console.print(f"[dim]{name}:[/dim] {url}", highlight=False)
    console.print(f"[dim]id {data['id']} · {data['pages'] or 0} pages · {data['chunks']} chunks · "
                  f"{', '.join(data['scopes'])}{' · metadata only' if data['metadata_only'] else ''}[/dim]")
    if data["abstract"]:
        console.print("\n" + escape(data["abstract"]), highlight=False)
    if data["sections"]:
        console.print("\n[bold]Sections[/bold]")
        for s in data["sections"]:
            pages = f"p. {s['page_start']}" + (f"-{s['page_end']}" if s["page_end"] != s["page_start"] else "") if s["page_start"] else ""
            kind = f" [{s['kind']}]" if s["kind"] != "body" else ""
            console.print(f"  {escape(s['title'] or '(untitled)')}{escape(kind)} [dim]{pages}[/dim]", highlight=False)
    for label, key in (("Cites in the library", "cites_in_library"), ("Cited by", "cited_by"), ("Similar", "similar")):
        if data[key]:
            console.print(f"\n[bold]{label}[/bold]")
            for p in data[key]:
                console.print(f"  {escape(p['title'] or p['id'])} [dim]{p['id']}[/dim]", highlight=False)
    if data["cites_outside_library"]:
        console.print(f"\n[bold]Cites outside the library[/bold] ({len(data['cites_outside_library'])})")
        for r in data["cites_outside_library"]:
            console.print(f"  {escape(r['title'] or r['reference'][:120])}" + (f" [dim]{r['url']}[/dim]" if r["url"] else ""),
                          highlight=False)


def export_citations(
    ctx: typer.Context,
    fmt: str = typer.Option("bibtex", "--format", help="bibtex, ris or csl-json."),
    kb: Optional[list[str]] = KBS_OPTION,
    papers_: Optional[list[str]] = typer.Option(None, "--papers", help="Only these paper ids (repeat). Default: all."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Citations of the library's papers as BibTeX, RIS or CSL-JSON; keys stay the same across runs."""
    require_papers(library_of(ctx), kb or None)
    try:
        text = library_of(ctx).export(fmt, kb or None, papers_ or None)
    except ScholarGraphError as exc:
        fail(exc)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def reading_list_command(
    ctx: typer.Context,
    kb: Optional[list[str]] = KBS_OPTION,
    min_citing: int = typer.Option(2, "--min-citing", help="Library papers that must cite a work for it to be listed."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many works."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Works your papers cite but the library does not hold, the most cited first."""
    require_papers(library_of(ctx), kb or None)
    try:
        works = library_of(ctx).reading_list(kb or None, min_citing=min_citing, limit=limit)
    except ScholarGraphError as exc:
        fail(exc)
    if as_json:
        print_json(works)
        return
    if not works:
        err.print(f"no work outside the library is cited by {min_citing} or more of its papers")
        return
    for i, w in enumerate(works, 1):
        year = f" ({w['year']})" if w["year"] else ""
        console.print(f"[bold]{i}. {escape(w['title'])}{year}[/bold] [dim]cited by {w['count']}[/dim]", highlight=False)
        if w["url"]:
            console.print(f"   {w['url']}", highlight=False)
        for p in w["cited_by"]:
            console.print(f"   [dim]- {escape(p['title'])}[/dim]", highlight=False)
