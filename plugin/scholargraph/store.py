"""Vectors in Chroma: one chunks collection and one papers collection per embedding model and size.

Embedded ``PersistentClient`` under the data dir by default, ``HttpClient`` when a Chroma host
is set. Naming collections by model and dimension keeps vectors of two models from ever
mixing. Embeddings are always passed in (Chroma's own embedder would download a model), and
writes are cut into batches within the server's maximum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from scholargraph.errors import StoreError
from scholargraph.ids import chunk_id
from scholargraph.models import Chunk
from scholargraph.settings import StoreSettings


@dataclass
class ChunkHit:
    """One passage found by a vector query."""

    id: str
    paper_id: str
    scope: str
    text: str
    section: str
    page_start: int | None
    page_end: int | None
    index: int
    score: float  # cosine similarity


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()


def collection_names(prefix: str, model: str, dimension: int) -> tuple[str, str]:
    """Chroma-legal names: ``{prefix}_chunks_{model}_{dim}`` and the papers twin."""
    base = f"{_slug(model)}_{dimension}"
    return f"{prefix}_chunks_{base}"[:500], f"{prefix}_papers_{base}"[:500]


def _scope_filter(scopes: list[str] | None) -> dict[str, Any] | None:
    if scopes is None:
        return None
    if len(scopes) == 1:
        return {"scope": scopes[0]}
    return {"scope": {"$in": list(scopes)}}


def _and(*clauses: dict[str, Any] | None) -> dict[str, Any] | None:
    present = [c for c in clauses if c]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


class VectorStore:
    """Chunk and paper vectors for one embedding model."""

    def __init__(self, settings: StoreSettings, data_dir: Path, model: str, dimension: int) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_host:
                self.client = chromadb.HttpClient(
                    host=settings.chroma_host,
                    port=settings.chroma_port,
                    ssl=settings.chroma_ssl,
                    settings=chroma_settings,
                )
                self.location = f"chroma server {settings.chroma_host}:{settings.chroma_port}"
            else:
                path = Path(data_dir) / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
                self.location = f"embedded chroma at {path}"
            chunks_name, papers_name = collection_names(settings.collection_prefix, model, dimension)
            meta = {"model": model, "dimension": dimension}
            self.chunks = self.client.get_or_create_collection(
                chunks_name, configuration={"hnsw": {"space": "cosine"}}, metadata=meta,
                embedding_function=None,
            )
            self.papers = self.client.get_or_create_collection(
                papers_name, configuration={"hnsw": {"space": "cosine"}}, metadata=meta,
                embedding_function=None,
            )
            self.max_batch = int(self.client.get_max_batch_size())
        except Exception as exc:  # chromadb raises many types; say where it failed
            raise StoreError(f"cannot open vector store ({settings.chroma_host or data_dir}): {exc}") from exc
        self.dimension = dimension

    # -- writes ---------------------------------------------------------------------------
    def _batches(self, n: int) -> Iterable[slice]:
        step = max(1, min(self.max_batch, 4096))
        for start in range(0, n, step):
            yield slice(start, start + step)

    def upsert_chunks(self, scope: str, title: str, chunks: list[Chunk], vectors: np.ndarray) -> list[str]:
        """Write a paper's chunks into a scope; returns the ids written (for rollback)."""
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        ids = [chunk_id(scope, c.paper_id, c.index) for c in chunks]
        metadatas = [self._chunk_metadata(scope, title, c) for c in chunks]
        documents = [c.text for c in chunks]
        for part in self._batches(len(ids)):
            self.chunks.upsert(
                ids=ids[part],
                embeddings=np.asarray(vectors[part], dtype=np.float32),
                metadatas=metadatas[part],
                documents=documents[part],
            )
        return ids

    @staticmethod
    def _chunk_metadata(scope: str, title: str, chunk: Chunk) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "scope": scope,
            "paper_id": chunk.paper_id,
            "index": chunk.index,
            "section": chunk.section or "",
            "title": title or "",
        }
        if chunk.page_start is not None:
            meta["page_start"] = chunk.page_start
        if chunk.page_end is not None:
            meta["page_end"] = chunk.page_end
        return meta

    def upsert_paper_vector(self, paper_id: str, title: str, vector: np.ndarray) -> None:
        """One vector per paper (scope-free: a paper's content is the same in every scope)."""
        self.papers.upsert(
            ids=[paper_id],
            embeddings=np.asarray([vector], dtype=np.float32),
            metadatas=[{"paper_id": paper_id, "title": title or ""}],
        )

    def delete_chunks(self, ids: list[str]) -> None:
        for part in self._batches(len(ids)):
            self.chunks.delete(ids=ids[part])

    def delete_paper(self, paper_id: str, scope: str | None = None) -> None:
        """Remove a paper's chunks from one scope, or everywhere (and its paper vector) when scope is None."""
        self.chunks.delete(where=_and({"paper_id": paper_id}, _scope_filter([scope]) if scope else None))
        if scope is None:
            self.papers.delete(ids=[paper_id])

    def delete_scope(self, scope: str) -> None:
        self.chunks.delete(where={"scope": scope})

    # -- reads ----------------------------------------------------------------------------
    def paper_chunks(self, paper_id: str, scope: str | None = None, with_vectors: bool = False) -> dict[str, Any]:
        """All chunks of a paper in a scope (any scope when None), ordered by index."""
        include = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
        got = self.chunks.get(
            where=_and({"paper_id": paper_id}, _scope_filter([scope]) if scope else None),
            include=include,
        )
        order = sorted(range(len(got["ids"])), key=lambda i: (got["metadatas"][i]["scope"], got["metadatas"][i]["index"]))
        out: dict[str, Any] = {
            "ids": [got["ids"][i] for i in order],
            "documents": [got["documents"][i] for i in order],
            "metadatas": [got["metadatas"][i] for i in order],
        }
        if with_vectors:
            out["embeddings"] = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32)
        return out

    def paper_vector(self, paper_id: str) -> np.ndarray | None:
        got = self.papers.get(ids=[paper_id], include=["embeddings"])
        if not got["ids"]:
            return None
        return np.asarray(got["embeddings"][0], dtype=np.float32)

    def similar_papers(self, vector: np.ndarray, k: int, exclude: str | None = None) -> list[tuple[str, float]]:
        """Nearest papers by paper vector, as (paper_id, cosine)."""
        total = self.papers.count()
        if total == 0:
            return []
        got = self.papers.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=min(k + 1, total),
            include=["distances"],
        )
        out = []
        for pid, dist in zip(got["ids"][0], got["distances"][0]):
            if pid != exclude:
                out.append((pid, 1.0 - float(dist)))
        return out[:k]

    def query(
        self,
        vector: np.ndarray,
        k: int,
        scopes: list[str] | None = None,
        paper_ids: list[str] | None = None,
    ) -> list[ChunkHit]:
        """Top-k chunks by cosine similarity within scopes (and optionally within some papers)."""
        where = _and(
            _scope_filter(scopes),
            {"paper_id": {"$in": list(paper_ids)}} if paper_ids else None,
        )
        if k <= 0:
            return []
        got = self.chunks.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            self._hit(cid, doc, meta, 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]
            )
        ]

    def texts(self, scopes: list[str] | None = None) -> list[ChunkHit]:
        """Every chunk text in the scopes (for keyword search), score 0."""
        got = self.chunks.get(where=_scope_filter(scopes), include=["documents", "metadatas"])
        return [self._hit(cid, doc, meta, 0.0) for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])]

    @staticmethod
    def _hit(cid: str, doc: str, meta: dict[str, Any], score: float) -> ChunkHit:
        return ChunkHit(
            id=cid,
            paper_id=meta["paper_id"],
            scope=meta["scope"],
            text=doc or "",
            section=meta.get("section", ""),
            page_start=meta.get("page_start"),
            page_end=meta.get("page_end"),
            index=int(meta.get("index", 0)),
            score=score,
        )

    def count(self, scopes: list[str] | None = None) -> int:
        if scopes is None:
            return self.chunks.count()
        return len(self.chunks.get(where=_scope_filter(scopes), include=[])["ids"])

    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, by id."""
        if not ids:
            return {}
        got = self.chunks.get(ids=ids, include=["embeddings"])
        return {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], got["embeddings"])}

    def best_chunks(self, qvec: np.ndarray, ids_by_paper: dict[str, list[str]]) -> dict[str, ChunkHit]:
        """Per paper, its chunk most similar to the query (exact, over vectors fetched by id)."""
        all_ids = [cid for ids in ids_by_paper.values() for cid in ids]
        if not all_ids:
            return {}
        best: dict[str, ChunkHit] = {}
        for part in self._batches(len(all_ids)):
            got = self.chunks.get(ids=all_ids[part], include=["embeddings", "documents", "metadatas"])
            if not got["ids"]:
                continue
            scores = np.asarray(got["embeddings"], dtype=np.float32) @ qvec
            for i, cid in enumerate(got["ids"]):
                meta = got["metadatas"][i]
                pid = meta["paper_id"]
                if pid not in best or scores[i] > best[pid].score:
                    best[pid] = self._hit(cid, got["documents"][i], meta, float(scores[i]))
        return best
