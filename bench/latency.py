"""Retrieval latency at 1k / 10k / 100k chunks, and graph-expansion time at the same sizes.

Clustered synthetic unit vectors (random uniform vectors make HNSW recall look worse than real
data) go through the real Chroma store, and a synthetic paper graph (50 chunks a paper, 10
references each resolved by title, shared authors, similar edges) through the real graph
database. Queries are noisy cluster centres. Prints one JSON object.

    .venv/bin/python bench/latency.py [--sizes 1000,10000,100000] [--queries 200] [--keep DIR] [--serve]

``--keep DIR`` builds each size's library under DIR once and reuses it on later runs (the
100k build takes minutes; the queries take seconds). ``--serve`` also times the same queries
against ``chroma run`` serving the same data (the production store's path).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, peak_rss_mib  # noqa: E402

from scholargraph.library import Library  # noqa: E402
from scholargraph.models import Block, Chunk, Paper, Reference, Section  # noqa: E402
from scholargraph.packed_vectors import PackedVectors  # noqa: E402
from scholargraph.retrieval.neighbours import expand  # noqa: E402
from scholargraph.retrieval.fusion import Relevance  # noqa: E402
from scholargraph.settings import Settings  # noqa: E402

DIM = 512
CHUNKS_PER_PAPER = 50
SCOPE = "bench"


class SyntheticVectors:
    """Stands in for an embedding model's name and size only; vectors come from the generator."""

    name = "synthetic-clustered"
    dimension = DIM
    max_input_tokens = 512
    instruction_style = "none"


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray, noise: float) -> np.ndarray:
    picks = rng.integers(0, len(centres), n)
    vecs = centres[picks] + noise * rng.standard_normal((n, DIM)).astype(np.float32)
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def build(library: Library, n_papers: int, rng: np.random.Generator, pyrng: random.Random,
          centres: np.ndarray) -> None:
    """The synthetic library: papers with chunks, paper vectors, references, authors, similar edges."""
    authors = [f"Author {i}" for i in range(max(4, n_papers // 3))]
    for p in range(n_papers):
        pid = f"p{p:06d}"
        refs = [Reference(raw=f"Synthetic paper {j}", title=f"Synthetic paper number {j}")
                for j in pyrng.sample(range(n_papers), min(10, n_papers - 1)) if j != p]
        paper = Paper(id=pid, content_hash=pid * 4, origin=f"{pid}.pdf", title=f"Synthetic paper number {p}",
                      authors=pyrng.sample(authors, 3), references=refs,
                      sections=[Section("Body", [Block("synthetic", 1)])])
        vectors = clustered(rng, CHUNKS_PER_PAPER, centres, 0.6)
        chunks = [Chunk("", pid, i, f"chunk {i} of paper {p}", "Body", 1, 1) for i in range(CHUNKS_PER_PAPER)]
        library.store.upsert_chunks(SCOPE, paper.title, chunks, vectors)
        mean = vectors.mean(axis=0)
        paper_vector = mean / np.linalg.norm(mean)
        library.store.upsert_paper_vector(pid, paper.title, paper_vector)
        similar = [(f"p{j:06d}", 0.8) for j in pyrng.sample(range(p), min(3, p))] if p else []
        library.graph.add_paper(paper, SCOPE, CHUNKS_PER_PAPER, similar,
                                PackedVectors.pack(library.store.key, paper_vector, vectors))


def time_queries(library: Library, queries: np.ndarray) -> dict:
    """Search (the top passages) and graph expansion, timed per query as ``Searcher`` runs them."""
    search_ms, expand_ms, neighbours = [], [], []
    weights = library.settings.retrieval.edge_weights
    for q in queries:
        t0 = time.perf_counter()
        near = library.store.query(q, library.settings.retrieval.near_pool, [SCOPE])  # as Searcher does when hops > 0
        hits = near[:10]
        t1 = time.perf_counter()
        hit_papers = list(dict.fromkeys(h.paper_id for h in hits))
        relevance = Relevance(near[0].score if near else 1.0)  # gated as the search does (dense side)
        found = expand(library.graph, library.store, q, hit_papers, [SCOPE], 1, 4, weights, near, relevance,
                       library.settings.retrieval.neighbour_floor)
        t2 = time.perf_counter()
        search_ms.append((t1 - t0) * 1000)
        expand_ms.append((t2 - t1) * 1000)
        neighbours.append(len(found))
    return {
        "search_ms": {"p50": percentile(search_ms, 50), "p95": percentile(search_ms, 95)},
        "graph_expand_ms": {"p50": percentile(expand_ms, 50), "p95": percentile(expand_ms, 95)},
        "neighbours_per_query": round(float(np.mean(neighbours)), 2),
    }


@contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    """``chroma run`` over an existing embedded store, on a free port; yields the port."""
    exe = Path(sys.executable).parent / "chroma"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("chroma server did not start")
            time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_size(n_chunks: int, n_queries: int, keep: Path | None, serve: bool, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    n_papers = max(2, n_chunks // CHUNKS_PER_PAPER)
    centres = rng.standard_normal((max(8, n_papers // 4), DIM)).astype(np.float32)
    # Queries from their own generator, so a kept library gets the same ones as a fresh build.
    queries = clustered(np.random.default_rng(seed + 1), n_queries, centres, 0.4)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = keep / str(n_chunks) if keep else Path(tmp)
        built = data_dir / "built"
        library = Library(Settings(data_dir=data_dir), embedder=SyntheticVectors())
        start = time.perf_counter()
        if built.exists():
            build_s = float(built.read_text())
        else:
            build(library, n_papers, rng, pyrng, centres)
            build_s = time.perf_counter() - start
            if keep:
                built.write_text(f"{build_s:.1f}")
        result = {"chunks": n_chunks, "papers": n_papers, "build_seconds": round(build_s, 1),
                  "edges": library.stats([SCOPE]).get("edges"), **time_queries(library, queries)}
        library.close()
        if serve:
            with chroma_server(data_dir / "chroma") as port:
                settings = Settings(data_dir=data_dir, store={"chroma_host": "127.0.0.1", "chroma_port": port})
                served = Library(settings, embedder=SyntheticVectors())
                result["chroma_server"] = time_queries(served, queries)
                served.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="build each size here once and reuse it")
    parser.add_argument("--serve", action="store_true", help="also time it against a Chroma server over the same data")
    args = parser.parse_args()
    results = [run_size(int(s), args.queries, args.keep, args.serve) for s in args.sizes.split(",")]
    print(json.dumps({"benchmark": "latency", "dimension": DIM, "k": 10, "hops": 1, "neighbour_budget": 4,
                      "results": results, "peak_rss_mib": peak_rss_mib(), "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
