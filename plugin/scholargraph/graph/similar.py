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

from collections.abc import Iterable

import numpy as np

from scholargraph.packed_vectors import unit_rows

# Paper vectors sampled to estimate the library's cosine distribution: 256 give ~32k pairs.
SAMPLE = 256
# A new paper may enter the nearest lists of papers beyond its own nearest ones; these many
# times similar_top_k of its neighbours are checked for a paper it pushed out.
REACH = 2


def library_level(library, z: float) -> float:
    """Mean + ``z`` standard deviations of the cosine between two of the library's papers;
    infinite below three papers, where "similar" has nothing to stand out from."""
    sample = library.graph.paper_vector_sample(library.store.key, SAMPLE)
    if len(sample) < 3:
        return float("inf")
    unit = unit_rows(sample)
    cosines = (unit @ unit.T)[np.triu_indices(len(unit), k=1)]
    return float(cosines.mean() + z * cosines.std())


def nearest(library, vector: np.ndarray, k: int, paper_id: str, pending: str | None = None) -> list[tuple[str, float]]:
    """The ``k`` papers nearest ``vector`` (not ``paper_id`` itself), as (id, cosine), best first.

    Only papers the graph holds count (the vector store may keep a paper whose commit failed),
    and ``pending``, the paper being added.
    """
    found = library.store.similar_papers(vector, k + 1, exclude=paper_id)
    return [(pid, s) for pid, s in found if pid == pending or library.graph.has_paper(pid)][:k]


def _vector(library, paper_id: str) -> np.ndarray | None:
    kept, matrix = library.graph.paper_matrix([paper_id], library.store.key)
    if kept:
        return matrix[0]
    return library.store.paper_vector(paper_id)  # a paper stored before the graph kept vectors


def edges_for_new_paper(library, paper_id: str, vector: np.ndarray, k: int, z: float) -> list[tuple[str, float]]:
    """The 'similar' edges of a paper about to be added (its vector already in the vector store).

    Papers whose nearest list it enters lose their edge to the paper it pushes out, now.
    """
    if k <= 0:
        return []
    level = library_level(library, z)
    out: list[tuple[str, float]] = []
    for rank, (other, cosine) in enumerate(nearest(library, vector, REACH * k, paper_id)):
        other_vector = _vector(library, other)
        if other_vector is None:
            continue
        theirs = {pid for pid, _ in nearest(library, other_vector, k, other, pending=paper_id)}
        if paper_id in theirs:
            library.graph.prune_similar(other, theirs)
            if rank < k and cosine >= level:
                out.append((other, cosine))
    return out


def edges_of(library, paper_id: str, k: int, level: float) -> list[tuple[str, float]]:
    """The 'similar' edges ``paper_id`` should have now: its mutual nearest papers above ``level``."""
    vector = _vector(library, paper_id)
    if vector is None or k <= 0:
        return []
    out = []
    for other, cosine in nearest(library, vector, k, paper_id):
        other_vector = _vector(library, other) if cosine >= level else None
        if other_vector is not None and paper_id in {pid for pid, _ in nearest(library, other_vector, k, other)}:
            out.append((other, cosine))
    return out


def refresh(library, paper_ids: Iterable[str], k: int, z: float) -> None:
    """Recompute the 'similar' edges of these papers (those a removed paper was similar to)."""
    ids = [pid for pid in dict.fromkeys(paper_ids) if library.graph.has_paper(pid)]
    if not ids:
        return
    level = library_level(library, z)
    for pid in ids:
        library.graph.set_similar(pid, edges_of(library, pid, k, level))
