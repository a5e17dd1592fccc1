"""What retrieval reads, named as small typed interfaces instead of a whole ``Library``.

The search, graph expansion, the library overview and the answer without an LLM read three
things: an embedder (``embedding.base.Embedder``), the chunk vectors (``ChunkReads``, met by
``chroma_store.VectorStore``) and the paper graph (``PaperReads``, met by ``graph.PaperGraph``).
Each takes only the ones it uses, so retrieval never imports ``Library`` (which imports
retrieval: the cycle an untyped ``library`` parameter used to hide), and a test or another store
can stand in for any of them. ``Library`` wires the real ones together; faces ask ``Library``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from scholargraph.chroma_store import ChunkHit
from scholargraph.embedding.base import Embedder

__all__ = ["ChunkReads", "Embedder", "FoundRow", "PaperReads", "PaperRow"]

# A paper as the graph lists it: id, title, authors, year, source, language, scopes, ... Read-only
# mappings, so the graph's own typed rows (TypedDicts) meet it; retrieval reads title, authors,
# year, source, language and abstract.
PaperRow = Mapping[str, Any]
# One paper the graph walk reached: paper_id, relation, via, hop (and weight, relations).
FoundRow = Mapping[str, Any]


class ChunkReads(Protocol):
    """The reads of the chunk vector store a search makes (``chroma_store.VectorStore``)."""

    @property
    def key(self) -> str:
        """Names this model's rows in the graph's vector tables (``paper_matrix``, ``chunk_matrices``)."""
        ...

    def query(self, vector: np.ndarray, k: int, scopes: list[str] | None = None) -> list[ChunkHit]:
        """Top-k chunks by cosine over the scopes."""
        ...

    def texts(self, scopes: list[str] | None = None) -> list[ChunkHit]:
        """Every chunk of the scopes with its text (for BM25), score 0."""
        ...

    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, by id."""
        ...

    def paper_similarities(self, qvec: np.ndarray, paper_ids: list[str]) -> dict[str, float]:
        """Cosine of the query to each paper's own vector."""
        ...

    def best_chunks(self, qvec: np.ndarray, ids_by_paper: dict[str, list[str]]) -> dict[str, ChunkHit]:
        """Per paper, its chunk nearest the query."""
        ...

    def passages(self, scored: dict[str, float]) -> dict[str, ChunkHit]:
        """The passages of some chunks, by paper, each with the score given."""
        ...

    def paper_chunks(self, paper_id: str, scope: str | None = None, with_vectors: bool = False) -> dict[str, Any]:
        """All chunks of a paper in a scope: ``ids``, ``documents``, ``metadatas``."""
        ...


class PaperReads(Protocol):
    """The reads of the paper graph retrieval makes (``graph.PaperGraph``). Every read takes the
    scopes a user may see; a paper outside them is absent."""

    @property
    def url(self) -> str:
        """The database, for naming caches."""
        ...

    def scope_version(self, scopes: list[str] | None = None) -> tuple[int, int, str]:
        """(papers, chunks, latest addition): changes whenever a paper joins or leaves the scopes."""
        ...

    def papers(self, scopes: list[str] | None = None) -> Sequence[PaperRow]:
        """Every visible paper."""
        ...

    def papers_by_ids(self, paper_ids: list[str], scopes: list[str] | None = None) -> Mapping[str, PaperRow]:
        """The visible papers among ``paper_ids``, by id: one batched read."""
        ...

    def get_paper(self, paper_id: str, scopes: list[str] | None = None) -> PaperRow | None:
        """One paper with its abstract."""
        ...

    def chunk_ids(self, paper_ids: list[str], scopes: list[str] | None = None) -> dict[str, list[str]]:
        """Each visible paper's chunk ids."""
        ...

    def neighbours(self, paper_ids: list[str], scopes: list[str] | None, hops: int = 1) -> Sequence[FoundRow]:
        """Papers around ``paper_ids``: ``paper_id``, ``relation``, ``via``, ``hop`` each."""
        ...

    def paper_matrix(self, paper_ids: list[str], model: str) -> tuple[list[str], np.ndarray]:
        """The papers' own vectors by ``model``, one row each (papers without one left out)."""
        ...

    def chunk_matrices(self, paper_ids: list[str], model: str) -> dict[str, np.ndarray]:
        """Each paper's chunk vectors by ``model``, row i being chunk i."""
        ...

    def edges(self, scopes: list[str] | None = None, kinds: list[str] | None = None) -> Sequence[Mapping[str, Any]]:
        """Edges with both ends visible: ``source``, ``target``, ``kind``, ``weight``."""
        ...
