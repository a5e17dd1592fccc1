"""The graph's vector side-tables: each paper's own vector and its chunks' vectors, per model.

Kept beside the paper (not only in the vector store) so that graph expansion ranks hundreds of
neighbours and scores their passages from a few small reads, and 'similar' edges can sample
the library's similarity without a vector search (``packed_vectors`` says how they are packed).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, bindparam, exists, func, select

from scholargraph.graph.database import batched, upsert
from scholargraph.graph.graph_part import GraphPart
from scholargraph.graph.schema import chunk_vectors, paper_vectors, papers
from scholargraph.packed_vectors import PackedVectors, from_f16


class VectorTables(GraphPart):
    """Reads and writes of ``paper_vectors`` and ``chunk_vectors``."""

    def chunk_matrices(self, paper_ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
        """Each paper's chunk vectors by ``model``, row i being chunk i (papers without a row are left out)."""
        out: dict[str, np.ndarray] = {}
        with self.db.read("reading chunk vectors") as conn:
            query = _chunk_matrices_query()
            for chunk in batched(dict.fromkeys(paper_ids)):
                for paper_id, count, dimension, data in conn.execute(query, {"model": model, "paper_ids": chunk}):
                    out[paper_id] = from_f16(bytes(data), count, dimension)
        return out

    def paper_matrix(self, paper_ids: Sequence[str], model: str) -> tuple[list[str], np.ndarray]:
        """The papers' own vectors by ``model``, one row each, for ranking many papers at once."""
        pv = paper_vectors
        ids: list[str] = []
        blobs: list[bytes] = []
        dimension = 0
        with self.db.read("reading paper vectors") as conn:
            for chunk in batched(dict.fromkeys(paper_ids)):
                query = select(pv.c.paper_id, pv.c.dimension, pv.c.vector).where(
                    pv.c.model == model, pv.c.paper_id.in_(chunk))
                for paper_id, dim, vector in conn.execute(query):
                    ids.append(paper_id)
                    blobs.append(vector)
                    dimension = dim
        return ids, from_f16(b"".join(blobs), len(ids), dimension)

    def papers_without_vectors(self, model: str) -> list[str]:
        """Papers missing their vectors for ``model`` (stored by an older version, or another model)."""
        pv, cv = paper_vectors, chunk_vectors
        has_row = (exists().where(pv.c.paper_id == papers.c.id, pv.c.model == model)
                   & exists().where(cv.c.paper_id == papers.c.id, cv.c.model == model))
        with self.db.read("listing papers without vectors") as conn:
            return list(conn.scalars(select(papers.c.id).where(~has_row).order_by(papers.c.id)))

    def paper_vector_sample(self, model: str, size: int) -> np.ndarray:
        """Up to ``size`` paper vectors by ``model``, drawn at random: the library's similarity
        distribution, estimated without reading every paper."""
        pv = paper_vectors
        with self.db.read("sampling paper vectors") as conn:
            rows = conn.execute(select(pv.c.dimension, pv.c.vector).where(pv.c.model == model)
                                .order_by(func.random()).limit(size)).all()
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return from_f16(b"".join(bytes(v) for _, v in rows), len(rows), rows[0][0])

    def put_vectors(self, paper_id: str, vectors: PackedVectors) -> None:
        """Store (or replace) a stored paper's vectors for one model."""
        with self.db.write(f"storing the vectors of paper {paper_id}") as conn:
            self._require(conn, paper_id)
            self._put_vectors(conn, paper_id, vectors)

    def _put_vectors(self, conn: Connection, paper_id: str, vectors: PackedVectors) -> None:
        keys = {"paper_id": paper_id, "model": vectors.model, "dimension": vectors.dimension}
        upsert(conn, paper_vectors, {**keys, "vector": vectors.paper}, ["paper_id", "model"])
        upsert(conn, chunk_vectors, {**keys, "count": vectors.count, "vectors": vectors.chunks}, ["paper_id", "model"])


@functools.cache
def _chunk_matrices_query() -> Select[Any]:
    """Built once: the search path runs it on every question (see paper_rows.py)."""
    cv = chunk_vectors
    return select(cv.c.paper_id, cv.c.count, cv.c.dimension, cv.c.vectors).where(
        cv.c.model == bindparam("model"), cv.c.paper_id.in_(bindparam("paper_ids", expanding=True)))
