"""One paper into the library, all or nothing: chunks -> vectors -> vector store -> graph.

Vectors are written first and removed again if the graph transaction fails; the graph row is
the commit record that every read checks, so a paper is either fully there or invisible. What
cannot be removed again (the vector store went away meanwhile) is logged and reported with the
paper and file named; the orphan sweep (service start, `scholargraph doctor`) removes it later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from scholargraph.chunking import chunk_paper, count_tokens, embedding_text
from scholargraph.errors import ParseError, ScholarGraphError
from scholargraph.ingest.report import IngestReport
from scholargraph.models import Chunk, Paper
from scholargraph.packed_vectors import PackedVectors
from scholargraph.parsing.parse_cache import forget_parse
from scholargraph.ingest.ingest_parts import IngestParts

log = logging.getLogger("scholargraph.ingest")


class PaperWriter:
    """Commits parsed papers through the embedder, the vector store and the graph of ``parts``."""

    def __init__(self, parts: IngestParts) -> None:
        self.parts = parts

    def commit(
        self,
        paper: Paper,
        scope: str,
        report: IngestReport,
        chunks: list[Chunk] | None = None,
        vectors: np.ndarray | None = None,
    ) -> int:
        """Embed (unless given vectors) and store one paper, all or nothing; returns its chunk count."""
        parts = self.parts
        if chunks is None:
            chunks = chunk_paper(paper, parts.settings.chunking)
        if not chunks:
            raise ParseError(paper.origin, "no text to index")
        t0 = time.perf_counter()
        if vectors is None:
            vectors = parts.embedder.embed_documents([embedding_text(paper.title, c) for c in chunks])
        paper_vector = self.paper_vector(paper, chunks, vectors)
        t1 = time.perf_counter()
        report.seconds["embed"] += t1 - t0
        written: list[str] = []
        try:
            store = parts.store
            written = store.upsert_chunks(scope, paper.title, chunks, vectors)
            store.upsert_paper_vector(paper.id, paper.title, paper_vector)
            similar = parts.similar_edges(paper.id, paper_vector)
            t2 = time.perf_counter()
            report.seconds["store"] += t2 - t1
            packed = PackedVectors.from_chunks(store.key, paper_vector, [c.index for c in chunks], vectors)
            parts.graph.add_paper(paper, scope, len(chunks), similar, packed)
            report.seconds["graph"] += time.perf_counter() - t2
        except BaseException:
            self.rollback(paper, scope, written, report)
            raise
        # only now: a commit that failed leaves the document loader's parse for the retry
        forget_parse(parts.settings.parsing, paper.content_hash)
        return len(chunks)

    def rollback(self, paper: Paper, scope: str, written: list[str], report: IngestReport) -> None:
        """Undo a half-written paper's vectors; the graph transaction undid itself.

        Chunk ids are the same for every import of one paper into one scope, so when a
        concurrent import committed this paper meanwhile, its vectors are that commit's: keep them.
        Each step is tried on its own, and each that fails is reported (see ``_undo``).
        """
        store, graph = self.parts.store, self.parts.graph

        def chunks() -> None:
            if written and not graph.in_scope(paper.id, scope):
                store.delete_chunks(written)

        def paper_vector() -> None:
            if not graph.has_paper(paper.id):
                store.delete_paper_vector(paper.id)

        _undo(chunks, f"the {len(written)} chunk vectors", paper.id, paper.origin, scope, report)
        _undo(paper_vector, "the paper vector", paper.id, paper.origin, scope, report)

    def copy_into_scope(self, paper_id: str, scope: str, origin: str, report: IngestReport) -> None:
        """A paper already embedded elsewhere joins this scope by copying its vectors."""
        store = self.parts.store
        existing = store.paper_chunks(paper_id, with_vectors=True)
        if not existing["ids"]:
            raise ScholarGraphError("stored vectors missing; delete and re-ingest it")
        first_scope = existing["metadatas"][0]["scope"]
        rows = [i for i, m in enumerate(existing["metadatas"]) if m["scope"] == first_scope]
        chunks = [
            Chunk(
                id="",
                paper_id=paper_id,
                index=int(existing["metadatas"][i]["index"]),
                text=existing["documents"][i],
                section=existing["metadatas"][i].get("section", ""),
                page_start=existing["metadatas"][i].get("page_start"),
                page_end=existing["metadatas"][i].get("page_end"),
                kind=existing["metadatas"][i].get("kind", "body"),
            )
            for i in rows
        ]
        title = str(existing["metadatas"][rows[0]].get("title", ""))
        written = store.upsert_chunks(scope, title, chunks, existing["embeddings"][rows])
        try:
            self.parts.graph.add_scope(paper_id, scope, origin, len(chunks))
        except BaseException:
            _undo(lambda: store.delete_chunks(written), f"the {len(written)} copied chunk vectors", paper_id, origin,
                  scope, report)
            raise
        report.chunks += len(chunks)

    def paper_vector(self, paper: Paper, chunks: list[Chunk], vectors: np.ndarray) -> np.ndarray:
        """Whole paper in one pass when the model's context holds it, else the mean of its chunks."""
        embedder = self.parts.embedder
        whole = "\n\n".join(p for p in (paper.title, paper.abstract, paper.body_text) if p)
        if count_tokens(whole) <= embedder.max_input_tokens // 2 or len(chunks) == 1:
            if len(chunks) == 1:
                return np.asarray(vectors[0])
            return np.asarray(embedder.embed_documents([whole])[0])
        mean = vectors.mean(axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12))


def _undo(step: Callable[[], None], what: str, paper_id: str, origin: str, scope: str, report: IngestReport) -> None:
    """Run one rollback step; if it fails, log it and add it to the report's warnings, naming
    the paper and its file (the graph is the commit record, so the leftovers are invisible to
    reads, but the user should know they are there and what removes them)."""
    try:
        step()
    except Exception as exc:
        problem = (f"{origin}: could not remove {what} of paper {paper_id} in '{scope}' after its commit "
                   f"failed ({type(exc).__name__}: {exc}); the orphan sweep (service start, `scholargraph doctor`) "
                   "removes them later")
        log.warning("%s", problem)
        report.warnings.append(problem)
