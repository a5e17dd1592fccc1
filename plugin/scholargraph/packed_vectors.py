"""A paper's chunk vectors as one float16 blob, kept beside its graph row.

Graph expansion must find each shortlisted neighbour's best passage for the question. With the
vectors only in Chroma that is either a filtered HNSW query (a walk over the whole index, ~70 ms at
100k chunks whatever the filter) or the vectors shipped back as JSON (~30 ms for 400 chunks at
512-d, five times that at Qwen3-4B's 2560-d). One blob per paper in the graph database answers it
with one indexed read and a matrix product, embedded or against a Chroma server alike. float16
halves the size (a 2560-d chunk is 5 KiB) and moves a cosine by ~1e-3, well below any difference
the neighbour ranking acts on. Rows are per embedding model: a library re-embedded with another
model keeps the rows apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PackedVectors:
    """``count`` unit vectors of ``dimension`` floats, row i being chunk i of the paper."""

    model: str
    dimension: int
    count: int
    data: bytes

    @classmethod
    def pack(cls, model: str, vectors: np.ndarray) -> "PackedVectors":
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"expected a 2-d array of chunk vectors, got shape {matrix.shape}")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit = (matrix / norms).astype("<f2")
        return cls(model=model, dimension=int(matrix.shape[1]), count=int(matrix.shape[0]), data=unit.tobytes())

    def matrix(self) -> np.ndarray:
        """The vectors as float32, one row per chunk."""
        flat = np.frombuffer(self.data, dtype="<f2")
        if flat.size != self.count * self.dimension:
            raise ValueError(f"packed vectors hold {flat.size} floats, expected {self.count} x {self.dimension}")
        return flat.reshape(self.count, self.dimension).astype(np.float32)

    def best(self, query: np.ndarray) -> tuple[int, float]:
        """Index and cosine of the chunk most similar to ``query``."""
        q = np.asarray(query, dtype=np.float32)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        scores = self.matrix() @ q
        index = int(np.argmax(scores))
        return index, float(scores[index])
