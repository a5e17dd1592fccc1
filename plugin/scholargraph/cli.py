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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scholargraph.errors import ScholarGraphError
from scholargraph.settings import Settings

app = typer.Typer(help="ScholarGraph: graph-aware, cross-lingual RAG over your paper library.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

KB_HELP = "Knowledge base (scope) to work in."


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
    err.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(1)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    kb: str = typer.Option("default", "--kb", help=KB_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parallel parsing processes (0 = one per core)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Parse, chunk, embed and store papers; build their graph. Safe to re-run."""
    if workers is not None:
        ctx.obj["settings"] = _settings(ctx).with_overrides({"parsing.workers": workers})
    library = _library(ctx)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"), console=err, transient=False, disable=as_json,
        ) as progress:
            task = progress.add_task("ingesting", total=None, last="")

            def on_event(event) -> None:
                progress.update(task, total=event.total, completed=event.done, last=Path(event.path).name)
                if event.status == "failed":
                    progress.console.print(f"[red]error:[/red] {event.message}", highlight=False)

            report = library.ingest(paths, scope=kb, progress=on_event)
    except ScholarGraphError as exc:
        _fail(exc)
    if as_json:
        _print_json({
            "added": report.added, "copied": report.copied, "skipped": report.skipped,
            "failed": [{"path": p, "error": e} for p, e in report.failed],
            "pages": report.pages, "chunks": report.chunks, "seconds": report.seconds,
        })
    else:
        err.print(report.summary() + f" ({report.chunks} chunks, {report.wall_seconds:.1f} s)")
    if report.failed:
        raise typer.Exit(1)


@app.command()
def papers(
    ctx: typer.Context,
    kb: Optional[str] = typer.Option(None, "--kb", help=KB_HELP + " Default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the papers in the library."""
    rows = _library(ctx).papers([kb] if kb else None)
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
    data = _library(ctx).graph_json([kb] if kb else None)
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
    try:
        found = _library(ctx).delete(paper_id, scope=kb)
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
        return
    table = Table("what", "value")
    for key, value in data.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)


def _search_options(k: Optional[int], hops: Optional[int], hybrid: Optional[bool]) -> dict[str, Any]:
    return {"k": k, "hops": hops, "hybrid": hybrid}


@app.command()
def search(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question, in any language."),
    kb: Optional[list[str]] = typer.Option(None, "--kb", help=KB_HELP + " Repeat for several. Default: all."),
    k: Optional[int] = typer.Option(None, "--k", help="Passages to retrieve."),
    hops: Optional[int] = typer.Option(None, "--hops", help="Graph hops to expand (0 = none)."),
    hybrid: Optional[bool] = typer.Option(None, "--hybrid/--dense", help="Fuse BM25 with vectors."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find passages, and the papers around them on the graph."""
    try:
        result = _library(ctx).search(question, kb or None, **_search_options(k, hops, hybrid))
    except ScholarGraphError as exc:
        _fail(exc)
    data = result.to_json()
    if as_json:
        hit_keys = ("paper_id", "title", "section", "page", "score", "text")
        neighbour_keys = ("paper_id", "title", "relation", "via", "score", "text")
        data["hits"] = [{k: h[k] for k in hit_keys} for h in data["hits"]]
        data["neighbours"] = [{k: n[k] for k in neighbour_keys} for n in data["neighbours"]]
        _print_json(data)
        return
    console.print(f"[dim]language: {result.language}[/dim]")
    for i, h in enumerate(result.hits, 1):
        console.print(f"[bold]{i}. {h.title}[/bold] [dim]({h.section}, p. {h.page}, score {h.score:.3f})[/dim]")
        console.print("   " + h.text[:300].replace("\n", " "), highlight=False)
    for n in result.neighbours:
        console.print(f"[bold cyan]+ {n.title}[/bold cyan] [dim]{n.relation} of {n.via_title[:50]} (score {n.score:.3f})[/dim]")
        console.print("   " + n.text[:200].replace("\n", " "), highlight=False)


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question, in any language."),
    kb: Optional[list[str]] = typer.Option(None, "--kb", help=KB_HELP + " Repeat for several. Default: all."),
    k: Optional[int] = typer.Option(None, "--k", help="Passages to retrieve."),
    hops: Optional[int] = typer.Option(None, "--hops", help="Graph hops to expand (0 = none)."),
    hybrid: Optional[bool] = typer.Option(None, "--hybrid/--dense", help="Fuse BM25 with vectors."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible chat LLM base URL."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Chat model name."),
) -> None:
    """Answer with the chat LLM citing [n], or print the context pack when no LLM is configured."""
    if llm_url or llm_model:
        ctx.obj["settings"] = _settings(ctx).with_overrides({"llm.base_url": llm_url, "llm.model": llm_model})
    library = _library(ctx)
    try:
        pack = library.context(question, kb or None, **_search_options(k, hops, hybrid))
        if not pack.sources:
            err.print("no passages found in the library for this question")
            raise typer.Exit(1)
        if not (library.settings.llm.base_url and library.settings.llm.model):
            err.print("[dim]no chat LLM configured (SCHOLARGRAPH_LLM__BASE_URL / --llm-url): showing the context pack[/dim]")
            console.print(pack.text, highlight=False, markup=False)
            return
        for piece in library.answer_stream(question, pack):
            console.out(piece, end="", highlight=False)
        console.print()
    except ScholarGraphError as exc:
        _fail(exc)
    console.print("\n[bold]Sources[/bold]")
    for src in pack.sources:
        console.print(src.citation() + (f" — {src.relation}" if src.relation else ""), highlight=False, markup=False)


eval_app = typer.Typer(help="Evaluate retrieval quality; each command prints JSON.", no_args_is_help=True)
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
def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, "--host", help="Bind address (env SCHOLARGRAPH_SERVICE__HOST)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port (env SCHOLARGRAPH_SERVICE__PORT)."),
    insecure_no_auth: bool = typer.Option(
        False, "--insecure-no-auth",
        help="Serve a non-loopback address without an API key (only behind a proxy that authenticates)."),
) -> None:
    """Run the HTTP service: Open WebUI external document loader, ingest, search, graph view."""
    from scholargraph.service import serve as run_service

    try:
        run_service(_settings(ctx).with_overrides({"service.host": host, "service.port": port,
                                                   "service.insecure_no_auth": insecure_no_auth or None}))
    except ScholarGraphError as exc:
        _fail(exc)
