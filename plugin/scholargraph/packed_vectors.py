"""A paper's vectors (its own and its chunks') as float16 blobs, kept beside its graph row.

Graph expansion ranks a hit's neighbours by paper vector, then finds the shortlisted ones' best
passage for the question. With the vectors only in Chroma each step is a Chroma request, and the
second is either a filtered HNSW query (a walk over the whole index, ~70 ms at 100k chunks
whatever the filter) or the vectors shipped back as JSON (~30 ms for 400 chunks at 512-d, five
times that at Qwen3-4B's 2560-d). Kept in the graph database, both are one indexed read and a
matrix product, embedded or against a Chroma server alike. float16 halves the size (a 2560-d
chunk is 5 KiB) and moves a cosine by ~1e-3, well below any difference the ranking acts on.
Rows are per embedding model: a library re-embedded with another model keeps them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOAT16 = "<f2"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero), float32."""
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(matrix / norms, dtype=np.float32)


def to_unit_f16(vectors: np.ndarray) -> bytes:
    """Rows scaled to unit length, as little-endian float16 bytes."""
    return unit_rows(vectors).astype(FLOAT16).tobytes()


def from_f16(data: bytes, rows: int, dimension: int) -> np.ndarray:
    """float16 bytes back to a float32 matrix of ``rows`` x ``dimension``."""
    flat = np.frombuffer(data, dtype=FLOAT16)
    if flat.size != rows * dimension:
        raise ValueError(f"packed vectors hold {flat.size} floats, expected {rows} x {dimension}")
    return flat.reshape(rows, dimension).astype(np.float32)


def unit(vector: np.ndarray) -> np.ndarray:
    """A query vector at unit length, so a product with stored rows is a cosine."""
    q = np.asarray(vector, dtype=np.float32)
    return q / (float(np.linalg.norm(q)) or 1.0)


@dataclass(frozen=True)
class PackedVectors:
    """A paper's own vector and its ``count`` chunk vectors (row i is chunk i), unit length."""

    model: str
    dimension: int
    count: int
    paper: bytes
    chunks: bytes

    @classmethod
    def pack(cls, model: str, paper_vector: np.ndarray, chunk_vectors: np.ndarray) -> "PackedVectors":
        chunks = np.asarray(chunk_vectors, dtype=np.float32)
        if chunks.ndim != 2 or np.asarray(paper_vector).shape != (chunks.shape[1],):
            raise ValueError(f"chunk vectors {chunks.shape} and paper vector {np.shape(paper_vector)} do not match")
        return cls(model=model, dimension=int(chunks.shape[1]), count=int(chunks.shape[0]),
                   paper=to_unit_f16(paper_vector), chunks=to_unit_f16(chunks))

    @classmethod
    def from_chunks(cls, model: str, paper_vector: np.ndarray, indexes: list[int],
                    chunk_vectors: np.ndarray) -> "PackedVectors | None":
        """Packed in chunk-index order; None when the indexes are not exactly 0..n-1, since row i
        must be chunk i (such a paper is left to the vector store)."""
        order = sorted(range(len(indexes)), key=indexes.__getitem__)
        if not indexes or [indexes[i] for i in order] != list(range(len(indexes))):
            return None
        return cls.pack(model, paper_vector, np.asarray(chunk_vectors)[order])

    def paper_vector(self) -> np.ndarray:
        return np.asarray(from_f16(self.paper, 1, self.dimension)[0])

    def chunk_matrix(self) -> np.ndarray:
        """The chunk vectors as float32, one row per chunk."""
        return from_f16(self.chunks, self.count, self.dimension)
