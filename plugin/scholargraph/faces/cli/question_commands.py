"""Commands that answer questions: `search` (passages and their graph neighbours), `ask` (one cited
answer) and `chat` (a question loop with the model loaded once)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from scholargraph.errors import ScholarGraphError
from scholargraph.faces.cli.command_kit import (
    HOPS_OPTION, HYBRID_OPTION, K_OPTION, KBS_OPTION, LLM_MODEL_OPTION, LLM_URL_OPTION, library_of, settings_of,
)
from scholargraph.faces.cli.terminal import (
    checked_question, console, err, fail, hit_where, loading_model, print_json, require_papers,
)


def _search_options(k: Optional[int], hops: Optional[int], hybrid: Optional[bool]) -> dict[str, Any]:
    return {"k": k, "hops": hops, "hybrid": hybrid}


SCOPE_HELP = ("'library': answer from the whole library's graph (themes, in-library citations, abstracts); "
              "'passages': from matching passages only. Default: retrieval.library_questions decides.")


def _scope_mode(scope: Optional[str]) -> Optional[str]:
    """--scope library|passages as a retrieval.library_questions mode ('always' / 'off')."""
    if scope is None:
        return None
    modes = {"library": "always", "passages": "off"}
    if scope not in modes:
        fail(ScholarGraphError(f"--scope takes 'library' or 'passages', not {scope!r}"))
    return modes[scope]


def search(
    ctx: typer.Context,
    question: str = typer.Argument(..., metavar="QUESTION", help="The question, in any language."),
    kb: Optional[list[str]] = KBS_OPTION,
    k: Optional[int] = K_OPTION,
    hops: Optional[int] = HOPS_OPTION,
    hybrid: Optional[bool] = HYBRID_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON, the same shape as the service's /search."),
    scope: Optional[str] = typer.Option(None, "--scope", metavar="library|passages",
                                        help="'library': the library's themes and in-library citations instead of passages."),
) -> None:
    """Find passages, and the papers around them on the graph. Each call loads the embedding model
    (seconds): `scholargraph chat` (a question loop) or `scholargraph serve` keep it loaded."""
    checked_question(question)
    library = library_of(ctx)
    require_papers(library, kb or None)
    if _scope_mode(scope) == "always":
        if as_json:
            print_json(library.overview(kb or None).to_json())
            return
        pack = library.overview_pack(kb or None)
        console.print(library.quote(question, pack).text(), highlight=False, markup=False)  # the overview's lines
        console.print("\n[bold]Sources[/bold]")
        for src in pack.cited:
            console.print(src.line(), highlight=False, markup=False)
        return
    try:
        with loading_model(library):
            result = library.search(question, kb or None, **_search_options(k, hops, hybrid))
    except ScholarGraphError as exc:
        fail(exc)
    if as_json:
        print_json(result.to_json())  # the service's /search shape
        return
    console.print(f"[dim]language: {result.language}[/dim]")
    for i, h in enumerate(result.hits, 1):
        console.print(f"[bold]{i}. {escape(h.title)}[/bold] [dim]{hit_where(h.section, h.page, h.score)}[/dim]")
        console.print("   " + h.text[:300].replace("\n", " "), highlight=False)
    for n in result.neighbours:
        why = escape(n.why)
        console.print(f"[bold cyan]+ {escape(n.title)}[/bold cyan] [dim]— {why} (score {n.score:.3f})[/dim]")
        console.print("   " + n.text[:200].replace("\n", " "), highlight=False)


def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., metavar="QUESTION", help="The question, in any language."),
    kb: Optional[list[str]] = KBS_OPTION,
    k: Optional[int] = K_OPTION,
    hops: Optional[int] = HOPS_OPTION,
    hybrid: Optional[bool] = HYBRID_OPTION,
    llm_url: Optional[str] = LLM_URL_OPTION,
    llm_model: Optional[str] = LLM_MODEL_OPTION,
    show_context: bool = typer.Option(False, "--show-context", help="Also print the full context pack."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer, its cited sentences and the sources as JSON."),
    scope: Optional[str] = typer.Option(None, "--scope", metavar="library|passages", help=SCOPE_HELP),
) -> None:
    """Answer citing \\[n], then the numbered sources. The chat LLM writes the answer; without one
    (or when it cannot be reached) the sentences of your papers that answer best are quoted."""
    from scholargraph.chat_session import NO_PASSAGE, answer_question, warm

    checked_question(question)
    if llm_url or llm_model:
        ctx.obj["settings"] = settings_of(ctx).with_overrides({"llm.base_url": llm_url, "llm.model": llm_model})
    library = library_of(ctx)
    scopes = kb or None
    require_papers(library, scopes)

    def piece(text: str) -> None:
        if not as_json:
            console.out(text, end="", highlight=False)

    try:
        with loading_model(library):
            warm(library)  # the model loads under the status line; the LLM's text streams after it
        options = _search_options(k, hops, hybrid)
        if scope is not None:
            options["library_questions"] = _scope_mode(scope)
        got = answer_question(library, question, scopes, options, on_piece=piece)
    except ScholarGraphError as exc:
        fail(exc)
    if got is None:
        err.print(NO_PASSAGE)
        raise typer.Exit(1)
    pack, written, note, quoted = got.pack, got.written, got.note, got.quoted
    if written and not as_json:
        console.print()
    if as_json:
        print_json({
            "question": question, "language": pack.language, "mode": "extractive" if quoted else "llm",
            "answer": quoted.text() if quoted else written, "note": note or None,
            "sentences": quoted.to_json()["answer"] if quoted else [],
            "sources": [src.to_json() for src in pack.cited],
            **({"context": pack.text} if show_context else {}),
        })
        return
    if quoted:
        err.print(f"[dim]{escape(note)}[/dim]")
        console.print(quoted.text() or "No sentence of the sources answers this directly; see the sources below.",
                      highlight=False, markup=False)
    if show_context:
        console.print("\n[bold]Context[/bold]")
        console.print(pack.text, highlight=False, markup=False)
    console.print("\n[bold]Sources[/bold]")
    for src in pack.cited:
        console.print(src.line(), highlight=False, markup=False)


def _line_history(path: Path) -> None:
    """Up-arrow recalls earlier questions (readline, where Python has it), kept across sessions."""
    import atexit

    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    atexit.register(lambda: readline.write_history_file(path))


def chat(
    ctx: typer.Context,
    kb: Optional[list[str]] = KBS_OPTION,
    k: Optional[int] = K_OPTION,
    hops: Optional[int] = HOPS_OPTION,
    hybrid: Optional[bool] = HYBRID_OPTION,
    llm_url: Optional[str] = LLM_URL_OPTION,
    llm_model: Optional[str] = LLM_MODEL_OPTION,
) -> None:
    """Ask question after question, answered as `ask` answers (citing \\[n]), with the library and model
    loaded once. /sources shows the last answer's sources; /hops N, /k N, /kb NAME change the search;
    /help lists the commands; /quit or Ctrl-D leaves."""
    from scholargraph.chat_session import ChatSession

    if llm_url or llm_model:
        ctx.obj["settings"] = settings_of(ctx).with_overrides({"llm.base_url": llm_url, "llm.model": llm_model})
    library = library_of(ctx)
    require_papers(library, kb or None)
    session = ChatSession(library, kb or None, k, hops, hybrid)
    interactive = sys.stdin.isatty()
    try:
        with loading_model(library, hint=""):
            session.open()
    except ScholarGraphError as exc:
        fail(exc)
    if interactive:
        _line_history(Path(library.settings.data_dir) / "chat_history")
        err.print("[dim]Ask a question; /help lists the commands, /quit or Ctrl-D leaves.[/dim]", highlight=False)

    def piece(text: str) -> None:
        console.out(text, end="", highlight=False)

    notes: set[str] = set()
    while True:
        try:
            line = input("? " if interactive else "")
        except EOFError:
            break
        except KeyboardInterrupt:
            console.print()
            break
        try:
            reply = session.handle(line, on_piece=piece)
        except KeyboardInterrupt:  # Ctrl-C stops this answer, not the session
            err.print("\n[dim](answer interrupted)[/dim]")
            continue
        if reply.answer is not None and reply.answer.written:
            console.print()  # end the streamed text
        if reply.answer is not None and reply.answer.note and reply.answer.note not in notes:
            notes.add(reply.answer.note)  # the same note once a session, not under every answer
            err.print(f"[dim]{escape(reply.answer.note)}[/dim]")
        if reply.error:
            err.print(f"[red]error:[/red] {escape(reply.error)}", highlight=False)
        if reply.text:
            console.print(reply.text, highlight=False, markup=False)
        if reply.done:
            break
