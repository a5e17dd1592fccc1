"""What every embedding backend offers, so the store, ingest and retrieval never know which one runs.

Documents and queries are separate calls because instruction-tuned models (Qwen3-Embedding,
E5) embed them differently: documents bare, queries behind a task instruction.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """A text-to-vector backend.

    ``name`` and ``dimension`` name the vector collections, so vectors of different models or
    sizes never mix. Vectors are float32, shape ``(n, dimension)``, L2-normalised, so a dot
    product is the cosine similarity.
    """

    # Read-only properties, so plain class attributes and lazily computed values both fit.
    @property
    def name(self) -> str:
        """Model id; part of the vector collection name."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    @property
    def max_input_tokens(self) -> int:
        """Longest text the model reads in one pass; ingest pools chunk vectors beyond it."""
        ...

    @property
    def instruction_style(self) -> str:
        """Query/document prefix convention: 'qwen3', 'e5' or 'none' (see ``instructions``)."""
        ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Vectors of passages to be searched (prefixed only where the style says so)."""
        ...

    def embed_queries(self, texts: list[str], task: str = "retrieve") -> np.ndarray:
        """Vectors of search queries, each behind the instruction of ``task``."""
        ...
