"""Build the configured embedder from settings; the one place that knows every backend."""

from __future__ import annotations

from scholargraph.embedding.base import Embedder
from scholargraph.settings import EmbeddingSettings


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """'local' -> the packaged CPU model; 'vllm' -> the OpenAI-compatible server client."""
    if settings.backend == "local":
        from scholargraph.embedding.local import LocalEmbedder

        return LocalEmbedder(
            batch_size=settings.batch_size,
            instructions=settings.instructions,
            instruction_style=settings.instruction_style,
        )
    from scholargraph.embedding.vllm import VLLMEmbedder

    embedder = VLLMEmbedder(settings)
    embedder.learn_server_limit()
    return embedder
