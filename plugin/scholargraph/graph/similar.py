"""'similar' edges that mean something at any library size.

A fixed cosine does not: the papers of one field sit at 0.6-0.8 from each other with a
multilingual CPU model, so a threshold of 0.5 links every pair of a small library, and a
stronger model or a mixed library moves the whole scale. Two relative tests instead:

- **mutual nearest neighbours**: each paper is among the other's ``similar_top_k`` nearest
  papers, so a paper near everything (a survey) does not collect edges from all sides;
- **above the library's own level**: the pair's cosine is at least ``similar_z`` standard
  deviations above the mean cosine between the library's papers (estimated from a random
  sample of paper vectors), so in a library of five papers on one topic only the pairs that
  stand out are linked, and a large varied library still has its clusters.

Both stay incremental. A new paper's edges come from its nearest papers' own nearest lists;
a paper it pushes out of someone's nearest list loses that edge (``prune``). Removing papers
frees places: ``refresh`` recomputes the edges of the papers they were similar to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from scholargraph.packed_vectors import unit_rows
from scholargraph.settings import GraphSettings


class PaperVectors(Protocol):
    """The vector store's paper vectors (``chroma_store.VectorStore``), searched by similarity."""

    @property
    def key(self) -> str:
        """Names this model's rows in the graph's vector tables."""
        ...

    def similar_papers(self, vector: np.ndarray, k: int, exclude: str | None = None) -> list[tuple[str, float]]:
        """Nearest papers by paper vector, as (paper_id, cosine), best first."""
        ...

    def paper_vector(self, paper_id: str) -> np.ndarray | None: ...


class SimilarEdges(Protocol):
    """What keeping 'similar' edges needs of the paper graph (``graph.PaperGraph``)."""

    def has_paper(self, paper_id: str) -> bool: ...

    def paper_matrix(self, paper_ids: Sequence[str], model: str) -> tuple[list[str], np.ndarray]: ...

    def paper_vector_sample(self, model: str, size: int) -> np.ndarray: ...

    def prune_similar(self, paper_id: str, keep: Iterable[str]) -> int: ...

    def set_similar(self, paper_id: str, similar: Sequence[tuple[str, float]]) -> None: ...


def library_level(vectors: PaperVectors, graph: SimilarEdges, z: float, sample_size: int) -> float:
    """Mean + ``z`` standard deviations of the cosine between two of the library's papers
    (estimated from ``sample_size`` paper vectors); infinite below three papers, where
    "similar" has nothing to stand out from."""
    sample = graph.paper_vector_sample(vectors.key, sample_size)
    if len(sample) < 3:
        return float("inf")
    unit = unit_rows(sample)
    cosines = (unit @ unit.T)[np.triu_indices(len(unit), k=1)]
    return float(cosines.mean() + z * cosines.std())


def nearest(
    vectors: PaperVectors, graph: SimilarEdges, vector: np.ndarray, k: int, paper_id: str, pending: str | None = None
) -> list[tuple[str, float]]:
    """The ``k`` papers nearest ``vector`` (not ``paper_id`` itself), as (id, cosine), best first.

    Only papers the graph holds count (the vector store may keep a paper whose commit failed),
    and ``pending``, the paper being added.
    """
    found = vectors.similar_papers(vector, k + 1, exclude=paper_id)
    return [(pid, s) for pid, s in found if pid == pending or graph.has_paper(pid)][:k]


def _vector(vectors: PaperVectors, graph: SimilarEdges, paper_id: str) -> np.ndarray | None:
    kept, matrix = graph.paper_matrix([paper_id], vectors.key)
    if kept:
        row: np.ndarray = matrix[0]
        return row
    return vectors.paper_vector(paper_id)  # a paper stored before the graph kept vectors


def edges_for_new_paper(
    vectors: PaperVectors, graph: SimilarEdges, paper_id: str, vector: np.ndarray, settings: GraphSettings,
) -> list[tuple[str, float]]:
    """The 'similar' edges of a paper about to be added (its vector already in the vector store).

    Papers whose nearest list it enters lose their edge to the paper it pushes out, now.
    """
    k = settings.similar_top_k
    if k <= 0:
        return []
    level = library_level(vectors, graph, settings.similar_z, settings.similar_sample)
    out: list[tuple[str, float]] = []
    for rank, (other, cosine) in enumerate(nearest(vectors, graph, vector, settings.similar_reach * k, paper_id)):
        other_vector = _vector(vectors, graph, other)
        if other_vector is None:
            continue
        theirs = {pid for pid, _ in nearest(vectors, graph, other_vector, k, other, pending=paper_id)}
        if paper_id in theirs:
            graph.prune_similar(other, theirs)
            if rank < k and cosine >= level:
                out.append((other, cosine))
    return out


def edges_of(vectors: PaperVectors, graph: SimilarEdges, paper_id: str, k: int, level: float) -> list[tuple[str, float]]:
    """The 'similar' edges ``paper_id`` should have now: its mutual nearest papers above ``level``."""
    vector = _vector(vectors, graph, paper_id)
    if vector is None or k <= 0:
        return []
    out = []
    for other, cosine in nearest(vectors, graph, vector, k, paper_id):
        other_vector = _vector(vectors, graph, other) if cosine >= level else None
        if other_vector is not None and paper_id in {pid for pid, _ in nearest(vectors, graph, other_vector, k, other)}:
            out.append((other, cosine))
    return out


def refresh(vectors: PaperVectors, graph: SimilarEdges, paper_ids: Iterable[str], settings: GraphSettings) -> None:
    """Recompute the 'similar' edges of these papers (those a removed paper was similar to)."""
    ids = [pid for pid in dict.fromkeys(paper_ids) if graph.has_paper(pid)]
    if not ids:
        return
    level = library_level(vectors, graph, settings.similar_z, settings.similar_sample)
    for pid in ids:
        graph.set_similar(pid, edges_of(vectors, graph, pid, settings.similar_top_k, level))
