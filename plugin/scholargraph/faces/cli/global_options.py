"""The CLI's global options (before the command name): each lands on one field of the settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from scholargraph.faces.cli.terminal import err
from scholargraph.settings import Settings


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
                **parse_sets(set_ or []),
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


def parse_sets(pairs: list[str]) -> dict[str, Any]:
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
