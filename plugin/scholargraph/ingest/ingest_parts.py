"""The seams between the engine's stages, as typed protocols.

An ingest writes through three parts: the embedder, the vector store (Chroma) and the paper
graph (SQL). It names here exactly what it uses of each, so it never imports ``Library``
(which imports it) and a test can hand it any object that has those methods. ``Library``
is the one object that provides them all, each opened on first use: an ingest of files the
library already holds never opens Chroma or asks the embedding server anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # types only: a read-only command imports none of the heavy parts
    from scholargraph.embedding.base import Embedder
    from scholargraph.models import Chunk, Paper
    from scholargraph.packed_vectors import PackedVectors
    from scholargraph.settings import Settings

__all__ = ["IngestParts", "PaperLedger", "VectorIndex"]


class VectorIndex(Protocol):
    """The vector store as an ingest writes it: chunks per scope, one vector per paper."""

    @property
    def key(self) -> str:
        """Names the model and size of these vectors in the graph's vector tables."""
        ...

    def upsert_chunks(self, scope: str, title: str, chunks: list[Chunk], vectors: np.ndarray) -> list[str]:
        """Write a paper's chunks into a scope; the ids written, so a failed commit can remove them."""
        ...

    def upsert_paper_vector(self, paper_id: str, title: str, vector: np.ndarray) -> None: ...

    def delete_chunks(self, ids: list[str]) -> None: ...

    def delete_paper_vector(self, paper_id: str) -> None: ...

    def paper_chunks(self, paper_id: str, scope: str | None = None, with_vectors: bool = False) -> dict[str, Any]:
        """A stored paper's chunks (ids, documents, metadatas, embeddings), ordered by index."""
        ...


class PaperLedger(Protocol):
    """The paper graph as an ingest uses it: the commit record every read checks."""

    def has_paper(self, paper_id: str) -> bool: ...

    def in_scope(self, paper_id: str, scope: str) -> bool: ...

    def add_origin(self, paper_id: str, scope: str, origin: str) -> bool:
        """Remember one more file holding a paper in a scope."""
        ...

    def add_paper(self, paper: Paper, scope: str, n_chunks: int, similar: Sequence[tuple[str, float]] = (),
                  vectors: PackedVectors | None = None) -> None:
        """Commit a paper (metadata, references, edges, vectors) in one transaction."""
        ...

    def add_scope(self, paper_id: str, scope: str, origin: str, n_chunks: int) -> None:
        """Put a paper the graph already holds into one more scope."""
        ...


class IngestParts(Protocol):
    """What an ingest writes through; read-only so each part may open on first use."""

    @property
    def settings(self) -> Settings: ...

    @property
    def embedder(self) -> Embedder: ...

    @property
    def store(self) -> VectorIndex: ...

    @property
    def graph(self) -> PaperLedger: ...

    def similar_edges(self, paper_id: str, vector: np.ndarray) -> list[tuple[str, float]]:
        """The 'similar' edges a paper about to be added gets (its vector already stored)."""
        ...
