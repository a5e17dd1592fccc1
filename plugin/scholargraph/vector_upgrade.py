"""Bring a library stored by an older version up to date: the graph gets the vectors Chroma holds.

Graph expansion ranks and scores neighbours from the vectors the graph keeps beside each paper
(``paper_matrix``, ``chunk_matrices``). Papers stored before the graph kept them get their rows
from the vectors already in Chroma: nothing is re-parsed or re-embedded, and running it again
changes nothing. ``Library.upgrade`` runs it; ``Library.start_upgrade`` runs it in the
background when a long-running face opens an older library.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from scholargraph.packed_vectors import PackedVectors


class StoredVectors(Protocol):
    """The vector store as the upgrade reads it (``chroma_store.VectorStore``)."""

    @property
    def key(self) -> str: ...

    def paper_vector(self, paper_id: str) -> np.ndarray | None: ...

    def paper_chunks(self, paper_id: str, scope: str | None = None, with_vectors: bool = False) -> dict[str, Any]: ...


class VectorRows(Protocol):
    """The graph's vector tables as the upgrade fills them (``graph.PaperGraph``)."""

    def papers_without_vectors(self, model: str) -> list[str]: ...

    def put_vectors(self, paper_id: str, vectors: PackedVectors) -> None: ...


def upgrade_vectors(graph: VectorRows, store: StoredVectors) -> int:
    """Give the graph the vectors of every paper it lacks them for; returns how many were changed."""
    changed = 0
    for paper_id in graph.papers_without_vectors(store.key):
        paper_vector = store.paper_vector(paper_id)
        if paper_vector is None:
            continue  # nothing of this model: Chroma keeps serving it
        got = store.paper_chunks(paper_id, with_vectors=True)
        indexes = [int(m["index"]) for m in got["metadatas"]]
        packed = PackedVectors.from_chunks(store.key, paper_vector, indexes, got["embeddings"])
        if packed is None:
            continue  # no chunks, or gaps in their indexes: Chroma keeps serving it
        graph.put_vectors(paper_id, packed)
        changed += 1
    return changed
