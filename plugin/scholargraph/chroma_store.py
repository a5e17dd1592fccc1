"""Vectors in Chroma: one chunks collection per scope, plus one papers collection, per model and size.

Embedded ``PersistentClient`` under the data dir by default, ``HttpClient`` when a Chroma host
is set. Collections are named by model and dimension (``chroma_names``), so vectors of two
models never mix, and chunks get one collection per scope (knowledge base, chat): a search
inside a scope needs no metadata filter (Chroma's ``where`` costs ~30x at 100k vectors), and
forgetting a knowledge base drops one collection. Embeddings are always passed in (Chroma's own embedder would
download a model), and writes are cut into batches within the server's maximum.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from filelock import FileLock

from scholargraph.chroma_client import connect
from scholargraph.chroma_names import chunks_collection_name, model_key, papers_collection_name, scope_of_chunk
from scholargraph.errors import StoreError
from scholargraph.ids import chunk_id, split_chunk_id
from scholargraph.models import Chunk
from scholargraph.packed_vectors import unit, unit_rows
from scholargraph.settings import StoreSettings

COSINE = {"hnsw": {"space": "cosine"}}
# In the data dir: held while embedded Chroma is opened or a collection is created.
CREATION_LOCK = "chroma.lock"


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
    kind: str = "body"  # body, caption, table or footnote (models.ASIDE_KINDS)


class VectorStore:
    """Chunk and paper vectors for one embedding model."""

    def __init__(self, settings: StoreSettings, data_dir: Path, model: str, dimension: int) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.prefix = settings.collection_prefix
        self.model = model
        self.dimension = dimension
        self.key = model_key(model, dimension)  # names this model's rows in the graph's vector tables
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._creation_lock: FileLock | None = None
        self.client: Any  # chromadb's client, embedded or through chroma_client's retrying wrapper
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_host:
                self.location = f"chroma server {settings.chroma_host}:{settings.chroma_port}"
                self.in_process = False
                self.client = connect(settings, chroma_settings)
            else:
                path = Path(data_dir) / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                self.location = f"embedded chroma at {path}"
                self.in_process = True
                self._creation_lock = FileLock(str(Path(data_dir) / CREATION_LOCK))
                with self._creation_lock:  # two processes opening a new library both ran Chroma's migrations
                    self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self.papers = self._get_or_create(
                papers_collection_name(self.prefix, model, dimension),
                {"model": model, "dimension": dimension, "kind": "papers"},
            )
            self.max_batch = int(self.client.get_max_batch_size())
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises many types; say where it failed
            raise StoreError(f"cannot open the vector store ({self._where(settings, data_dir)}): {exc}") from exc

    @staticmethod
    def _where(settings: StoreSettings, data_dir: Path) -> str:
        if settings.chroma_host:
            return f"Chroma server at {settings.chroma_host}:{settings.chroma_port}; is it running?"
        return f"embedded Chroma in {data_dir}"

    # -- collections ----------------------------------------------------------------------
    def _chunks(self, scope: str, create: bool = True) -> Any:
        """The chunks collection of a scope (None when it does not exist and create is False)."""
        with self._lock:
            if scope in self._collections:
                return self._collections[scope]
            name = chunks_collection_name(self.prefix, self.model, self.dimension, scope)
            if create:
                col = self._get_or_create(
                    name, {"model": self.model, "dimension": self.dimension, "kind": "chunks", "scope": scope}
                )
            else:
                from chromadb.errors import NotFoundError

                try:
                    col = self.client.get_collection(name, embedding_function=None)
                except NotFoundError:
                    return None
            self._collections[scope] = col
            return col

    def _get_or_create(self, name: str, metadata: dict[str, Any]) -> Any:
        """``get_or_create_collection``, safe when another process creates the same one at once.

        Embedded, a file lock serialises creation; against a server, the loser of the race gets
        an error for a collection that now exists, and simply takes it.
        """
        def make() -> Any:
            return self.client.get_or_create_collection(name, configuration=COSINE, embedding_function=None,
                                                        metadata=metadata)

        if self._creation_lock is not None:
            with self._creation_lock:
                return make()
        try:
            return make()
        except Exception:
            return self.client.get_collection(name, embedding_function=None)

    def scopes(self) -> list[str]:
        """Every scope holding chunks of this model."""
        out = []
        for col in self.client.list_collections():
            meta = col.metadata or {}
            if (meta.get("kind") == "chunks" and meta.get("model") == self.model
                    and int(meta.get("dimension", -1)) == self.dimension):
                out.append(meta["scope"])
        return sorted(out)

    def _existing(self, scopes: list[str] | None) -> list[tuple[str, Any]]:
        wanted = self.scopes() if scopes is None else scopes
        return [(s, c) for s in wanted if (c := self._chunks(s, create=False)) is not None]

    def _batches(self, n: int) -> Iterable[slice]:
        step = max(1, min(self.max_batch, 4096))
        for start in range(0, n, step):
            yield slice(start, start + step)

    # -- writes ---------------------------------------------------------------------------
    def upsert_chunks(self, scope: str, title: str, chunks: list[Chunk], vectors: np.ndarray) -> list[str]:
        """Write a paper's chunks into a scope; returns the ids written (for rollback)."""
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        col = self._chunks(scope)
        ids = [chunk_id(scope, c.paper_id, c.index) for c in chunks]
        metadatas = [self._chunk_metadata(scope, title, c) for c in chunks]
        documents = [c.text for c in chunks]
        for part in self._batches(len(ids)):
            col.upsert(ids=ids[part], embeddings=np.asarray(vectors[part], dtype=np.float32),
                       metadatas=metadatas[part], documents=documents[part])
        return ids

    @staticmethod
    def _chunk_metadata(scope: str, title: str, chunk: Chunk) -> dict[str, Any]:
        meta: dict[str, Any] = {"scope": scope, "paper_id": chunk.paper_id, "index": chunk.index,
                                "section": chunk.section or "", "title": title or "", "kind": chunk.kind}
        if chunk.page_start is not None:
            meta["page_start"] = chunk.page_start
        if chunk.page_end is not None:
            meta["page_end"] = chunk.page_end
        return meta

    def upsert_paper_vector(self, paper_id: str, title: str, vector: np.ndarray) -> None:
        """One vector per paper (scope-free: a paper's content is the same in every scope)."""
        self.papers.upsert(ids=[paper_id], embeddings=np.asarray([vector], dtype=np.float32),
                           metadatas=[{"paper_id": paper_id, "title": title or ""}])

    def delete_chunks(self, ids: list[str]) -> None:
        by_scope: dict[str, list[str]] = {}
        for cid in ids:
            by_scope.setdefault(scope_of_chunk(cid), []).append(cid)
        for scope, scoped in by_scope.items():
            col = self._chunks(scope, create=False)
            if col is not None:
                for part in self._batches(len(scoped)):
                    col.delete(ids=scoped[part])

    def delete_paper(self, paper_id: str, scope: str | None = None) -> None:
        """Remove a paper's chunks from one scope, or everywhere (and its paper vector) when scope is None."""
        for _, col in self._existing([scope] if scope else None):
            col.delete(where={"paper_id": paper_id})
        if scope is None:
            self.papers.delete(ids=[paper_id])

    def delete_paper_vector(self, paper_id: str) -> None:
        self.papers.delete(ids=[paper_id])

    def delete_scope(self, scope: str) -> None:
        from chromadb.errors import NotFoundError

        with self._lock:
            self._collections.pop(scope, None)
            try:
                self.client.delete_collection(chunks_collection_name(self.prefix, self.model, self.dimension, scope))
            except NotFoundError:  # already gone
                pass

    # -- reads ----------------------------------------------------------------------------
    def paper_chunks(self, paper_id: str, scope: str | None = None, with_vectors: bool = False) -> dict[str, Any]:
        """All chunks of a paper in a scope (the first scope holding it when None), ordered by index."""
        include = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
        for _, col in self._existing([scope] if scope else None):
            got = col.get(where={"paper_id": paper_id}, include=include)
            if not got["ids"]:
                continue
            order = sorted(range(len(got["ids"])), key=lambda i: got["metadatas"][i]["index"])
            out: dict[str, Any] = {
                "ids": [got["ids"][i] for i in order],
                "documents": [got["documents"][i] for i in order],
                "metadatas": [got["metadatas"][i] for i in order],
            }
            if with_vectors:
                out["embeddings"] = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32)
            return out
        return {"ids": [], "documents": [], "metadatas": [], "embeddings": np.zeros((0, self.dimension))}

    def paper_vector(self, paper_id: str) -> np.ndarray | None:
        got = self.papers.get(ids=[paper_id], include=["embeddings"])
        if not got["ids"]:
            return None
        return np.asarray(got["embeddings"][0], dtype=np.float32)

    def similar_papers(self, vector: np.ndarray, k: int, exclude: str | None = None) -> list[tuple[str, float]]:
        """Nearest papers by paper vector, as (paper_id, cosine)."""
        total = self.papers.count()
        if total == 0 or k <= 0:
            return []
        got = self.papers.query(query_embeddings=np.asarray([vector], dtype=np.float32),
                                n_results=min(k + 1, total), include=["distances"])
        out = [(pid, 1.0 - float(dist)) for pid, dist in zip(got["ids"][0], got["distances"][0]) if pid != exclude]
        return out[:k]

    def query(self, vector: np.ndarray, k: int, scopes: list[str] | None = None) -> list[ChunkHit]:
        """Top-k chunks by cosine similarity over the scopes' collections, merged."""
        if k <= 0:
            return []
        hits: list[ChunkHit] = []
        for _, col in self._existing(scopes):
            # No count() first: it costs more than the query at 100k vectors, and Chroma returns
            # fewer results (none for an empty collection) when asked for more than it holds.
            got = col.query(query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k,
                            include=["documents", "metadatas", "distances"])
            hits.extend(
                self._hit(cid, doc, meta, 1.0 - float(dist))
                for cid, doc, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
            )
        return heapq.nlargest(k, hits, key=lambda h: h.score)

    def texts(self, scopes: list[str] | None = None) -> list[ChunkHit]:
        """Every chunk text in the scopes (for keyword search), score 0."""
        out: list[ChunkHit] = []
        for _, col in self._existing(scopes):
            got = col.get(include=["documents", "metadatas"])
            out.extend(self._hit(cid, doc, meta, 0.0) for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]))
        return out

    def _by_collection(self, ids: list[str]) -> Iterable[tuple[Any, list[str]]]:
        """Chunk ids grouped by their scope's collection, in batches within the server's maximum."""
        by_scope: dict[str, list[str]] = {}
        for cid in ids:
            by_scope.setdefault(scope_of_chunk(cid), []).append(cid)
        for scope, scoped in by_scope.items():
            col = self._chunks(scope, create=False)
            if col is None:
                continue
            for part in self._batches(len(scoped)):
                yield col, scoped[part]

    def _get_by_ids(self, ids: list[str], include: list[str]) -> list[dict[str, Any]]:
        """Chroma ``get`` by chunk id, routed to each id's scope collection."""
        return [col.get(ids=batch, include=include) for col, batch in self._by_collection(ids)]

    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, by id."""
        out: dict[str, np.ndarray] = {}
        for got in self._get_by_ids(ids, ["embeddings"]):
            out.update({cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], got["embeddings"])})
        return out

    def paper_similarities(self, qvec: np.ndarray, paper_ids: list[str]) -> dict[str, float]:
        """Cosine of the query to each paper's vector, computed inside Chroma (no vectors shipped)."""
        ids = list(dict.fromkeys(paper_ids))
        out: dict[str, float] = {}
        for part in self._batches(len(ids)):
            chunk = ids[part]
            got = self.papers.query(query_embeddings=np.asarray([qvec], dtype=np.float32), n_results=len(chunk),
                                    ids=chunk, include=["distances"])
            out.update({pid: 1.0 - float(d) for pid, d in zip(got["ids"][0], got["distances"][0])})
        return out

    def best_chunks(self, qvec: np.ndarray, ids_by_paper: dict[str, list[str]]) -> dict[str, ChunkHit]:
        """Per paper, its chunk most similar to the query (exact), then the text of the winners only.

        The path for papers whose vectors the graph does not keep yet (stored by an older version,
        see ``Library.upgrade``). Scored where the vectors live. Embedded, the chunks' vectors are read by id and scored
        in numpy: ~12 ms for 400 chunks at 100k, where Chroma's id-restricted query walks the
        HNSW graph rejecting everything else (~70 ms). Against a server, shipping those vectors
        as JSON would cost more (2560 floats a chunk for Qwen3-4B), so the server scores them.
        """
        ids = [cid for cids in ids_by_paper.values() for cid in cids]
        scored = self._score_by_fetch(qvec, ids) if self.in_process else self._score_by_query(qvec, ids)
        best: dict[str, tuple[str, float]] = {}
        for cid, score in scored:
            pid = split_chunk_id(cid)[1]
            if pid not in best or score > best[pid][1]:
                best[pid] = (cid, score)
        return self.passages({cid: score for cid, score in best.values()})

    def passages(self, scored: dict[str, float]) -> dict[str, ChunkHit]:
        """The passages of some chunks, by paper, each with the score it was given."""
        hits: dict[str, ChunkHit] = {}
        for got in self._get_by_ids(list(scored), ["documents", "metadatas"]):
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                hits[meta["paper_id"]] = self._hit(cid, doc, meta, scored[cid])
        return hits

    def _score_by_fetch(self, qvec: np.ndarray, ids: list[str]) -> Iterable[tuple[str, float]]:
        """Cosine of the query to each chunk, from its stored vector."""
        q = unit(qvec)
        for got in self._get_by_ids(ids, ["embeddings"]):
            if len(got["ids"]):
                yield from zip(got["ids"], (unit_rows(got["embeddings"]) @ q).tolist())

    def _score_by_query(self, qvec: np.ndarray, ids: list[str]) -> Iterable[tuple[str, float]]:
        """Cosine of the query to each chunk, computed by the server (an exact id-restricted query)."""
        for col, batch in self._by_collection(ids):
            got = col.query(query_embeddings=np.asarray([qvec], dtype=np.float32), n_results=len(batch),
                            ids=batch, include=["distances"])
            yield from ((cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0]))

    @staticmethod
    def _hit(cid: str, doc: str, meta: dict[str, Any], score: float) -> ChunkHit:
        return ChunkHit(id=cid, paper_id=meta["paper_id"], scope=meta["scope"], text=doc or "",
                        section=meta.get("section", ""), page_start=meta.get("page_start"),
                        page_end=meta.get("page_end"), index=int(meta.get("index", 0)), score=score,
                        kind=meta.get("kind", "body"))

    # -- maintenance (orphan sweep, see scholargraph.maintenance) ------------------------------
    def _all_ids(self, col: Any) -> list[str]:
        """Every id in a collection, read in pages within the server's maximum batch."""
        ids: list[str] = []
        step = max(1, min(self.max_batch, 4096))
        while True:
            got = col.get(include=[], limit=step, offset=len(ids))
            ids.extend(got["ids"])
            if len(got["ids"]) < step:
                return ids

    def chunk_ids_by_scope(self) -> dict[str, list[str]]:
        """Every stored chunk id, by scope."""
        return {scope: self._all_ids(col) for scope, col in self._existing(None)}

    def paper_vector_ids(self) -> list[str]:
        """Every paper that has a paper vector of this model."""
        return self._all_ids(self.papers)

    def delete_paper_vectors(self, paper_ids: list[str]) -> None:
        for part in self._batches(len(paper_ids)):
            self.papers.delete(ids=paper_ids[part])

    def count(self, scopes: list[str] | None = None) -> int:
        return sum(col.count() for _, col in self._existing(scopes))
