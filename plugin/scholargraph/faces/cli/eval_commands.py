"""`scholargraph eval ...`: retrieval, cross-lingual, graph and context evaluations, each printing JSON.

Each builds its own library from the evaluation set (a temp folder unless --data-dir), never the user's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scholargraph.errors import ScholarGraphError
from scholargraph.faces.cli.command_kit import CommandGroup, fresh_library, settings_of
from scholargraph.faces.cli.terminal import fail, print_json

eval_app = CommandGroup(help="Evaluate retrieval quality; each command prints JSON.", no_args_is_help=True)


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

    library = fresh_library(ctx, data_dir)
    print_json(evaluate(library, load_scifact(folder, queries, qrels), tuple(modes.split(","))))


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
    from scholargraph.evaluation.xquad_matrix import xquad_matrix

    print_json(xquad_matrix(settings_of(ctx), folder, pairs.split(","), instruction_styles.split(","),
                            modes.split(","), limit))


@eval_app.command("graph")
def eval_graph(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Papers to ingest (e.g. ../shared/data/papers)."),
    data_dir: Optional[Path] = typer.Option(None, help="Where to build the index (default: temp)."),
    k: int = typer.Option(5, help="Passages retrieved per question."),
) -> None:
    """Graph ablation: hops 0 vs 1 vs 2, and what the neighbours add."""
    from scholargraph.evaluation.graph_eval import graph_ablation

    library = fresh_library(ctx, data_dir)
    library.ingest(paths, scope="eval")
    print_json(graph_ablation(library, ["eval"], k=k))


@eval_app.command("context")
def eval_context(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Papers to ingest (e.g. ../shared/data/papers ../shared/data/papers-zh)."),
    data_dir: Optional[Path] = typer.Option(None, help="Where to build the index (default: temp; reused if it holds them)."),
    questions: Optional[Path] = typer.Option(None, help="Question set (default: the shipped one, see docs/evaluation.md)."),
) -> None:
    """Context precision: relevant papers in each question's context, required ones found, top-1, tokens."""
    from scholargraph.evaluation.context_eval import evaluate_context, load_context_set

    library = fresh_library(ctx, data_dir)
    report = library.ingest(paths, scope="eval")
    if report.failed:
        fail(ScholarGraphError(f"could not ingest {report.failed[:3]}"))
    print_json(evaluate_context(library, ["eval"], load_context_set(questions)))
