"""`scholargraph` command line: a thin face over ``Library``.

Global options map onto the one settings model (``Settings.with_overrides``); everything
else comes from ``SCHOLARGRAPH_*`` environment variables. Listings take ``--json`` for scripts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from scholargraph.errors import ScholarGraphError
from scholargraph.settings import Settings

class _Command(TyperCommand):
    """Usage lines name arguments as QUESTION, PATHS... rather than typer's {question}."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [p[1:].replace("}", "").upper() if p.startswith("{") else p for p in super().collect_usage_pieces(ctx)]


class _Typer(typer.Typer):
    """Every command of the CLI (and its sub-apps) gets the plain usage line of ``_Command``."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _Typer(help="ScholarGraph: graph-aware, cross-lingual RAG over your paper library.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

KB_HELP = "Knowledge base (scope) to work in."
EMPTY_HINT = "add papers with `scholargraph ingest PATH`"


def _default(key: str, labels: dict[Any, str] | None = None) -> str:
    """A settings default for ``show_default``: options left unset fall back to the settings
    (env vars and --set can change them), so help names the setting too."""
    group, field = key.split(".")
    value = Settings.model_fields[group].annotation.model_fields[field].default  # type: ignore[union-attr]
    return f"{(labels or {}).get(value, value)} from {key}"


# Options several commands share (typer reads these as read-only descriptions).
KBS_OPTION = typer.Option(None, "--kb", help=KB_HELP + " Repeat for several. Default: all.")
K_OPTION = typer.Option(None, "--k", help="Passages to retrieve.", show_default=_default("retrieval.top_k"))
HOPS_OPTION = typer.Option(None, "--hops", help="Graph hops to expand (0 = none).",
                           show_default=_default("retrieval.hops"))
HYBRID_OPTION = typer.Option(None, "--hybrid/--dense", help="Fuse BM25 with vectors.",
                             show_default=_default("retrieval.hybrid", {True: "hybrid", False: "dense"}))
LLM_URL_OPTION = typer.Option(None, "--llm-url", help="OpenAI-compatible chat LLM base URL (llm.base_url).")
LLM_MODEL_OPTION = typer.Option(None, "--llm-model", help="Chat model name (llm.model).")


def _require_papers(library: Any, scopes: list[str] | None = None) -> None:
    """Commands with nothing to work on say so and exit 1, before any model or Chroma is opened."""
    try:
        papers = library.graph.scope_version(scopes)[0]
    except ScholarGraphError as exc:
        _fail(exc)
    if papers:
        return
    if scopes:
        names = ", ".join(f"'{s}'" for s in scopes)
        err.print(f"[red]error:[/red] no papers in {escape(names)}: add papers with `scholargraph ingest PATH --kb "
                  f"{escape(scopes[0])}`", highlight=False)
    else:
        err.print(f"[red]error:[/red] the library is empty: {EMPTY_HINT}", highlight=False)
    raise typer.Exit(1)


def _question(question: str) -> str:
    """A blank question is a usage error (exit 2), as the HTTP service answers 422."""
    if not question.strip():
        raise typer.BadParameter("the question is blank: ask something, e.g. 'what is LayoutParser?'",
                                 param_hint="QUESTION")
    return question


def _loading_model(library: Any, hint: str = " (`scholargraph chat` or `serve` keep it loaded)") -> Any:
    """On a terminal, say that the embedding model loads (seconds) while the first query runs."""
    import contextlib

    if not err.is_terminal:
        return contextlib.nullcontext()
    local = library.settings.embedding.backend == "local"
    return err.status(f"loading model…{escape(hint)}" if local else "searching…")


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj["settings"]


def _library(ctx: typer.Context):
    from scholargraph.library import Library

    if "library" not in ctx.obj:
        ctx.obj["library"] = Library(_settings(ctx))
    return ctx.obj["library"]


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where embedded Chroma and SQLite live (env SCHOLARGRAPH_DATA_DIR)."),
    embedding_backend: Optional[str] = typer.Option(None, "--embedding-backend", help="'local' (CPU model shipped in a package) or 'vllm'."),
    vllm_url: Optional[str] = typer.Option(None, "--vllm-url", help="vLLM OpenAI-compatible base URL, e.g. http://gpu:8000/v1."),
    embedding_model: Optional[str] = typer.Option(None, "--embedding-model", help="Embedding model served by vLLM."),
    dimensions: Optional[int] = typer.Option(None, "--dimensions", help="Matryoshka output size for vLLM."),
    chroma_host: Optional[str] = typer.Option(None, "--chroma-host", help="Chroma server host (default: embedded Chroma)."),
    chroma_port: Optional[int] = typer.Option(None, "--chroma-port", help="Chroma server port."),
    graph_url: Optional[str] = typer.Option(None, "--graph-url", help="SQLAlchemy URL of the graph database (default: SQLite)."),
    set_: Optional[list[str]] = typer.Option(
        None, "--set", metavar="KEY=VALUE",
        help="Any setting by its dotted name, e.g. --set retrieval.hybrid_alpha=0.5 (JSON values: "
        "numbers, true/false, {...}). Repeat for several. The env var is SCHOLARGRAPH_ + KEY with . as __.",
    ),
) -> None:
    """Global options; each maps onto one field of the settings model."""
    try:
        settings = Settings().with_overrides(
            {
                **_parse_sets(set_ or []),
                "data_dir": str(data_dir) if data_dir else None,
                "embedding.backend": embedding_backend,
                "embedding.base_url": vllm_url,
                "embedding.model": embedding_model,
                "embedding.dimensions": dimensions,
                "store.chroma_host": chroma_host,
                "store.chroma_port": chroma_port,
                "graph.database_url": graph_url,
            }
        )
    except Exception as exc:
        err.print(f"[red]error:[/red] invalid settings: {exc}")
        raise typer.Exit(2)
    ctx.obj = {"settings": settings}
    ctx.call_on_close(lambda: ctx.obj.get("library") and ctx.obj["library"].close())


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as dotted overrides; VALUE is JSON when it parses, else a string."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE, e.g. retrieval.top_k=12")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)  # keeps [ray], [postgres]
    raise typer.Exit(1)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    kb: str = typer.Option("default", "--kb", help=KB_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parse worker processes (0 = a parse thread beside embedding, the default)."),
    executor: Optional[str] = typer.Option(
        None, "--executor", help="Where parsing runs: 'local' or 'ray' (bulk imports; pip install 'scholargraph[ray]')."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address for --executor ray (default: RAY_ADDRESS, else a local Ray)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Parse, chunk, embed and store papers; build their graph. Safe to re-run."""
    try:
        ctx.obj["settings"] = _settings(ctx).with_overrides(
            {"parsing.workers": workers, "parsing.executor": executor, "parsing.ray_address": address})
    except Exception as exc:
        err.print(f"[red]error:[/red] invalid settings: {exc}")
        raise typer.Exit(2)
    from scholargraph.ingest import discover
    from scholargraph.ingest_progress import IngestProgress, stage_times

    library = _library(ctx)

    def sizes(paper_id: str) -> tuple[int, int]:
        row = library.graph.get_paper(paper_id, [kb]) or {}
        return int(row.get("pages") or 0), int(row.get("chunks") or 0)

    found, refused = discover(paths)
    try:
        if as_json:
            report = library.ingest(paths, scope=kb)
        else:
            with IngestProgress(err, found + [Path(p) for p, _ in refused], sizes) as on_event:
                report = library.ingest(paths, scope=kb, progress=on_event)
    except ScholarGraphError as exc:
        _fail(exc)
    if as_json:
        _print_json(report.to_json())
    else:
        err.print(report.summary() + f" ({report.chunks} chunks, {report.wall_seconds:.1f} s; {stage_times(report)})",
                  highlight=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def papers(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the papers in the library."""
    library = _library(ctx)
    _require_papers(library, [kb] if kb else None)
    rows = library.papers([kb] if kb else None)
    out = [
        {k: r.get(k) for k in ("id", "title", "authors", "year", "doi", "arxiv_id", "language", "source", "chunks")}
        for r in rows
    ]
    if as_json:
        _print_json(out)
        return
    table = Table("id", "title", "authors", "year", "lang", "chunks")
    for r in out:
        authors = ", ".join(r["authors"][:3]) + (" et al." if len(r["authors"] or []) > 3 else "")
        table.add_row(r["id"], r["title"], authors, str(r["year"] or ""), r["language"] or "", str(r["chunks"]))
    console.print(table)


@app.command()
def graph(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {nodes, edges}."),
) -> None:
    """Show the paper graph: citations, similar papers, shared authors."""
    library = _library(ctx)
    _require_papers(library, [kb] if kb else None)
    data = library.graph_json([kb] if kb else None)
    if as_json:
        _print_json(data)
        return
    titles = {n["id"]: n["title"] for n in data["nodes"]}
    table = Table("kind", "from", "to", "weight")
    for e in sorted(data["edges"], key=lambda e: (e["kind"], -e["weight"])):
        table.add_row(e["kind"], titles.get(e["source"], e["source"])[:60], titles.get(e["target"], e["target"])[:60], f"{e['weight']:.2f}")
    console.print(f"{len(data['nodes'])} papers, {len(data['edges'])} edges")
    console.print(table)


@app.command()
def delete(
    ctx: typer.Context,
    paper_id: str = typer.Argument(..., help="Paper id (see `scholargraph papers`)."),
    kb: Optional[str] = typer.Option(None, "--kb", help="Remove from this knowledge base only."),
) -> None:
    """Delete a paper: its chunks, vectors and edges; references to it become unresolved."""
    library = _library(ctx)
    _require_papers(library)
    try:
        found = library.delete(paper_id, scope=kb)
    except ScholarGraphError as exc:
        _fail(exc)
    if not found:
        err.print(f"[red]error:[/red] no paper {paper_id}" + (f" in '{kb}'" if kb else ""))
        raise typer.Exit(1)
    err.print(f"deleted {paper_id}")


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Bring a library made by an older ScholarGraph up to date (nothing is re-embedded); safe to rerun."""
    try:
        changed = _library(ctx).upgrade()
    except ScholarGraphError as exc:
        _fail(exc)
    err.print(f"upgraded {changed} paper(s): their vectors are now kept in the graph for graph expansion"
              if changed else "nothing to upgrade")


@app.command()
def doctor(
    ctx: typer.Context,
    grace: Optional[float] = typer.Option(
        None, "--grace", help="Seconds a vector must stay orphaned before it is deleted (default store.orphan_grace_s; "
        "0 when nothing else writes to the library)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete vectors a killed ingest left without a committed paper, then run `upgrade`; safe to rerun."""
    library = _library(ctx)
    try:
        gone = library.sweep_orphans(grace)
        changed = library.upgrade()
    except ScholarGraphError as exc:
        _fail(exc)
    if as_json:
        _print_json({**gone.to_json(), "upgraded": changed})
        return
    err.print(f"removed {len(gone.chunks)} orphan chunk vector(s) and {len(gone.papers)} orphan paper vector(s); "
              f"upgraded {changed} paper(s)")


@app.command()
def stats(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Counts of papers, chunks, references and edges, and where they are stored."""
    data = _library(ctx).stats([kb] if kb else None)
    if as_json:
        _print_json(data)
    else:
        table = Table("what", "value")
        for key, value in data.items():
            table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        console.print(table)
    if not data["papers"]:
        err.print(f"{'no papers in ' + repr(kb) if kb else 'the library is empty'}: {EMPTY_HINT}", highlight=False)


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
        _fail(ScholarGraphError(f"--scope takes 'library' or 'passages', not {scope!r}"))
    return modes[scope]


def _hit_where(section: str, page: int | None, score: float) -> str:
    """'(Methods, p. 3, score 0.512)', leaving out what a passage lacks (no section, no page in non-PDFs)."""
    parts = [escape(section) if section else "", f"p. {page}" if page is not None else "", f"score {score:.3f}"]
    return "(" + ", ".join(p for p in parts if p) + ")"


@app.command()
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
    from scholargraph.retrieval.context import relation_label

    _question(question)
    library = _library(ctx)
    _require_papers(library, kb or None)
    if _scope_mode(scope) == "always":
        from scholargraph.retrieval.library_overview import build_overview, overview_pack

        overview = build_overview(library, kb or None)
        if as_json:
            _print_json(overview.to_json())
            return
        pack = overview_pack(library, question, kb or None, None, library.settings.retrieval.context_tokens)
        console.print(pack.overview.text(), highlight=False, markup=False)
        console.print("\n[bold]Sources[/bold]")
        for src in pack.sources:
            console.print(src.line(), highlight=False, markup=False)
        return
    try:
        with _loading_model(library):
            result = library.search(question, kb or None, **_search_options(k, hops, hybrid))
    except ScholarGraphError as exc:
        _fail(exc)
    if as_json:
        _print_json(result.to_json())  # the service's /search shape
        return
    console.print(f"[dim]language: {result.language}[/dim]")
    for i, h in enumerate(result.hits, 1):
        console.print(f"[bold]{i}. {escape(h.title)}[/bold] [dim]{_hit_where(h.section, h.page, h.score)}[/dim]")
        console.print("   " + h.text[:300].replace("\n", " "), highlight=False)
    for n in result.neighbours:
        why = escape(relation_label(n.relation, n.via_title))
        console.print(f"[bold cyan]+ {escape(n.title)}[/bold cyan] [dim]— {why} (score {n.score:.3f})[/dim]")
        console.print("   " + n.text[:200].replace("\n", " "), highlight=False)


@app.command()
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
    from scholargraph.retrieval.extractive import source_json

    _question(question)
    if llm_url or llm_model:
        ctx.obj["settings"] = _settings(ctx).with_overrides({"llm.base_url": llm_url, "llm.model": llm_model})
    library = _library(ctx)
    scopes = kb or None
    _require_papers(library, scopes)

    def piece(text: str) -> None:
        if not as_json:
            console.out(text, end="", highlight=False)

    try:
        with _loading_model(library):
            warm(library)  # the model loads under the status line; the LLM's text streams after it
        options = _search_options(k, hops, hybrid)
        if scope is not None:
            options["library_questions"] = _scope_mode(scope)
        got = answer_question(library, question, scopes, options, on_piece=piece)
    except ScholarGraphError as exc:
        _fail(exc)
    if got is None:
        err.print(NO_PASSAGE)
        raise typer.Exit(1)
    pack, written, note, quoted = got.pack, got.written, got.note, got.quoted
    if written and not as_json:
        console.print()
    if as_json:
        _print_json({
            "question": question, "language": pack.language, "mode": "extractive" if quoted else "llm",
            "answer": quoted.text() if quoted else written, "note": note or None,
            "sentences": quoted.to_json()["answer"] if quoted else [],
            "sources": [source_json(src) for src in pack.sources],
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
    for src in pack.sources:
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


@app.command()
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
        ctx.obj["settings"] = _settings(ctx).with_overrides({"llm.base_url": llm_url, "llm.model": llm_model})
    library = _library(ctx)
    _require_papers(library, kb or None)
    session = ChatSession(library, kb or None, k, hops, hybrid)
    interactive = sys.stdin.isatty()
    try:
        with _loading_model(library, hint=""):
            session.open()
    except ScholarGraphError as exc:
        _fail(exc)
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


eval_app = _Typer(help="Evaluate retrieval quality; each command prints JSON.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _fresh_library(ctx: typer.Context, data_dir: Optional[Path], overrides: dict[str, Any] | None = None):
    """Evaluation sets go into their own library (a temp dir unless given), never the user's."""
    import tempfile

    from scholargraph.library import Library

    folder = data_dir or Path(tempfile.mkdtemp(prefix="scholargraph-eval-"))
    settings = _settings(ctx).with_overrides({"data_dir": str(folder), **(overrides or {})})
    return Library(settings)


@eval_app.command("scifact")
def eval_scifact(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="SciFact BEIR folder (e.g. ../shared/data/scifact-mini)."),
    queries: str = typer.Option("queries_mini.jsonl", help="Queries file in the folder."),
    qrels: str = typer.Option("qrels_mini.tsv", help="Judgements file in the folder."),
    data_dir: Optional[Path] = typer.Option(None, help="Where to build the evaluation index (default: temp)."),
    modes: str = typer.Option("dense,hybrid-convex,hybrid-rrf,bm25", help="Modes to compare: dense, bm25, "
                              "hybrid (as configured), hybrid-convex, hybrid-rrf."),
) -> None:
    """nDCG@10 and Recall@10, dense vs hybrid vs BM25."""
    from scholargraph.evaluation.datasets import load_scifact
    from scholargraph.evaluation.retrieval_eval import evaluate

    library = _fresh_library(ctx, data_dir)
    _print_json(evaluate(library, load_scifact(folder, queries, qrels), tuple(modes.split(","))))


@eval_app.command("xquad")
def eval_xquad(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="XQuAD-R folder with en.json and zh.json."),
    pairs: str = typer.Option("zh-en,en-zh,en-en,zh-zh", help="question-paragraph language pairs."),
    limit: Optional[int] = typer.Option(None, help="Use only this many questions per pair."),
    instruction_styles: str = typer.Option("auto,qwen3", help="Query instruction styles to compare."),
    modes: str = typer.Option("dense,bm25", help="Modes for the first style (the others: dense only); "
                              "also hybrid, hybrid-convex, hybrid-rrf."),
) -> None:
    """Cross-lingual retrieval: accuracy@1 and MRR@10 per language pair, with and without instruction, vs BM25."""
    from scholargraph.evaluation.datasets import load_xquad
    from scholargraph.evaluation.retrieval_eval import evaluate

    results = []
    for style in instruction_styles.split(","):
        for pair in pairs.split(","):
            q, p = pair.split("-")
            library = _fresh_library(ctx, None, {"embedding.instruction_style": style})
            chosen = tuple(modes.split(",")) if style == instruction_styles.split(",")[0] else ("dense",)
            res = evaluate(library, load_xquad(folder, q, p, limit), chosen)
            res["instruction_style"] = library.embedder.instruction_style
            results.append(res)
            library.close()
    _print_json(results)


@eval_app.command("graph")
def eval_graph(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Papers to ingest (e.g. ../shared/data/papers)."),
    data_dir: Optional[Path] = typer.Option(None, help="Where to build the index (default: temp)."),
    k: int = typer.Option(5, help="Passages retrieved per question."),
) -> None:
    """Graph ablation: hops 0 vs 1 vs 2, and what the neighbours add."""
    from scholargraph.evaluation.graph_eval import graph_ablation

    library = _fresh_library(ctx, data_dir)
    library.ingest(paths, scope="eval")
    _print_json(graph_ablation(library, ["eval"], k=k))


@eval_app.command("context")
def eval_context(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Papers to ingest (e.g. ../shared/data/papers ../shared/data/papers-zh)."),
    data_dir: Optional[Path] = typer.Option(None, help="Where to build the index (default: temp; reused if it holds them)."),
    questions: Optional[Path] = typer.Option(None, help="Question set (default: the shipped one, see docs/evaluation.md)."),
) -> None:
    """Context precision: relevant papers in each question's context, required ones found, top-1, tokens."""
    from scholargraph.evaluation.context_eval import evaluate_context, load_context_set

    library = _fresh_library(ctx, data_dir)
    report = library.ingest(paths, scope="eval")
    if report.failed:
        _fail(ScholarGraphError(f"could not ingest {report.failed[:3]}"))
    _print_json(evaluate_context(library, ["eval"], load_context_set(questions)))


@app.command()
def show(
    ctx: typer.Context,
    paper_id: str = typer.Argument(..., help="Paper id (see `scholargraph papers`)."),
    kb: Optional[list[str]] = KBS_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One paper: metadata, abstract, sections, what it cites in and outside the library, what cites it, similar papers."""
    from scholargraph.library_io.show import show_paper

    _require_papers(_library(ctx), kb or None)
    try:
        data = show_paper(_library(ctx), paper_id, kb or None)
    except ScholarGraphError as exc:
        _fail(exc)
    if data is None:
        err.print(f"[red]error:[/red] no paper {escape(paper_id)}" + (f" in {', '.join(kb)}" if kb else ""))
        raise typer.Exit(1)
    if as_json:
        _print_json(data)
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


@app.command("export")
def export_citations(
    ctx: typer.Context,
    fmt: str = typer.Option("bibtex", "--format", help="bibtex, ris or csl-json."),
    kb: Optional[list[str]] = KBS_OPTION,
    papers_: Optional[list[str]] = typer.Option(None, "--papers", help="Only these paper ids (repeat). Default: all."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Citations of the library's papers as BibTeX, RIS or CSL-JSON; keys stay the same across runs."""
    from scholargraph.library_io.export import export

    _require_papers(_library(ctx), kb or None)
    try:
        text = export(_library(ctx), fmt, kb or None, papers_ or None)
    except ScholarGraphError as exc:
        _fail(exc)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@app.command("reading-list")
def reading_list_command(
    ctx: typer.Context,
    kb: Optional[list[str]] = KBS_OPTION,
    min_citing: int = typer.Option(2, "--min-citing", help="Library papers that must cite a work for it to be listed."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many works."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Works your papers cite but the library does not hold, the most cited first."""
    from scholargraph.library_io.reading_list import reading_list

    _require_papers(_library(ctx), kb or None)
    try:
        works = reading_list(_library(ctx), kb or None, min_citing=min_citing, limit=limit)
    except ScholarGraphError as exc:
        _fail(exc)
    if as_json:
        _print_json(works)
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


@app.command("import")
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
    zotero_api: Optional[str] = typer.Option(
        None, "--zotero-api", help="Import through the Zotero API instead of a file: 'local' (the running Zotero 7 "
        "desktop app) or 'web' (api.zotero.org, with --zotero-library and a key).", show_default=False),
    zotero_library: Optional[str] = typer.Option(
        None, "--zotero-library", help="Zotero API: 'users/<userID>' or 'groups/<groupID>' (setting zotero.library).",
        show_default=_default("zotero.library")),
    zotero_key: Optional[str] = typer.Option(
        None, "--zotero-key", help="Zotero Web API key; better from env SCHOLARGRAPH_ZOTERO__API_KEY (setting "
        "zotero.api_key). Never printed.", show_default=False),
    full: bool = typer.Option(False, "--full", help="Zotero API: read the whole library again, not only what changed."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import a reference manager's library: PDFs with the entry's metadata, other entries as metadata-only papers.
    Re-importing a Zotero folder or API library only brings what changed; items deleted in Zotero leave."""
    from scholargraph.library_io.bib_import import import_file

    def on_entry(name: str, status: str) -> None:
        if not as_json:
            err.print(f"{escape(name)}: {escape(status)}", highlight=False)

    try:
        if zotero_api or file is None:
            from scholargraph.library_io.zotero_api import import_zotero_api

            if file is not None or not zotero_api:
                raise ScholarGraphError("give a file, a Zotero data folder, or --zotero-api local|web (one of them)")
            report = import_zotero_api(_library(ctx), kb=kb or "zotero", api=zotero_api,
                                       zotero_library=zotero_library, key=zotero_key, collections=collections,
                                       full=full, progress=on_entry)
        elif file.is_dir() or file.name == "zotero.sqlite":
            from scholargraph.library_io.zotero import import_zotero

            folder = file if file.is_dir() else file.parent
            report = import_zotero(_library(ctx), folder, kb=kb or "zotero", collections=collections,
                                   linked_base=linked_base, progress=on_entry)
        else:
            report = import_file(_library(ctx), file, scope=kb or "default", progress=on_entry)
    except ScholarGraphError as exc:
        _fail(exc)
    if as_json:
        _print_json(report.to_json())
    else:
        for note in report.notes:
            err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
        err.print(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command()
def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, "--host", help="Bind address (env SCHOLARGRAPH_SERVICE__HOST).",
                                       show_default=_default("service.host")),
    port: Optional[int] = typer.Option(None, "--port", help="Port (env SCHOLARGRAPH_SERVICE__PORT).",
                                       show_default=_default("service.port")),
    insecure_no_auth: bool = typer.Option(
        False, "--insecure-no-auth",
        help="Serve a non-loopback address without an API key (only behind a proxy that authenticates)."),
) -> None:
    """Run the HTTP service: Open WebUI external document loader, ingest, search, graph view."""
    from scholargraph.faces.service import check_bind, serve as run_service

    settings = _settings(ctx).with_overrides({"service.host": host, "service.port": port,
                                              "service.insecure_no_auth": insecure_no_auth or None})
    service = settings.service
    try:
        if not service.insecure_no_auth:  # refuses before the URLs are printed; run_service warns otherwise
            check_bind(settings)
        _check_port_free(service.host, service.port)
    except ScholarGraphError as exc:
        _fail(exc)
    base = f"http://{'[' + service.host + ']' if ':' in service.host else service.host}:{service.port}"
    docs = "" if service.api_key else f", API docs {base}/docs"
    err.print(f"ScholarGraph on {base}/ : graph view {base}/graph/view{docs} (Ctrl+C stops it)",
              highlight=False, soft_wrap=True)
    try:
        run_service(settings)
    except ScholarGraphError as exc:
        _fail(exc)


def _check_port_free(host: str, port: int) -> None:
    """A busy port is one clear error up front, not uvicorn's 'address already in use' after its startup lines."""
    import socket

    from scholargraph.errors import ConfigError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no clash
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}. Another `scholargraph serve` or "
                          "program holds it: stop it, or pick another port with --port (service.port)") from None
