"""What every command prints with: the two consoles, errors, JSON, and the checks that fail early.

stdout carries results (tables, answers, JSON for scripts); stderr carries progress, notes and
errors, so `scholargraph papers --json > out.json` stays clean.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from scholargraph.errors import ScholarGraphError

if TYPE_CHECKING:
    from scholargraph.library import Library

console = Console()
err = Console(stderr=True)

EMPTY_HINT = "add papers with `scholargraph ingest PATH`"


def fail(exc: Exception) -> NoReturn:
    """One red line on stderr and exit 1: how every ScholarGraphError ends a command."""
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)  # keeps [ray], [postgres]
    raise typer.Exit(1)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def require_papers(library: Library, scopes: list[str] | None = None) -> None:
    """Commands with nothing to work on say so and exit 1, before any model or Chroma is opened."""
    try:
        papers = library.paper_count(scopes)
    except ScholarGraphError as exc:
        fail(exc)
    if papers:
        return
    if scopes:
        names = ", ".join(f"'{s}'" for s in scopes)
        err.print(f"[red]error:[/red] no papers in {escape(names)}: add papers with `scholargraph ingest PATH --kb "
                  f"{escape(scopes[0])}`", highlight=False)
    else:
        err.print(f"[red]error:[/red] the library is empty: {EMPTY_HINT}", highlight=False)
    raise typer.Exit(1)


def checked_question(question: str) -> str:
    """A blank question is a usage error (exit 2), as the HTTP service answers 422."""
    if not question.strip():
        raise typer.BadParameter("the question is blank: ask something, e.g. 'what is LayoutParser?'",
                                 param_hint="QUESTION")
    return question


def loading_model(library: Library, hint: str = " (`scholargraph chat` or `serve` keep it loaded)") -> Any:
    """On a terminal, say that the embedding model loads (seconds) while the first query runs."""
    if not err.is_terminal:
        return contextlib.nullcontext()
    local = library.settings.embedding.backend == "local"
    return err.status(f"loading model…{escape(hint)}" if local else "searching…")


def hit_where(section: str, page: int | None, score: float) -> str:
    """'(Methods, p. 3, score 0.512)', leaving out what a passage lacks (no section, no page in non-PDFs)."""
    parts = [escape(section) if section else "", f"p. {page}" if page is not None else "", f"score {score:.3f}"]
    return "(" + ", ".join(p for p in parts if p) + ")"
