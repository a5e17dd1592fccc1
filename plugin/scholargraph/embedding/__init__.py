"""Text to vectors: the ``Embedder`` interface, its backends and the query instruction conventions."""

from scholargraph.embedding.base import Embedder
from scholargraph.embedding.instructions import (
    DEFAULT_INSTRUCTIONS,
    STYLES,
    TASKS,
    format_document,
    format_query,
    resolve_style,
    style_for_model,
)
from scholargraph.embedding.vllm import VLLMEmbedder

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "STYLES",
    "TASKS",
    "Embedder",
    "VLLMEmbedder",
    "format_document",
    "format_query",
    "resolve_style",
    "style_for_model",
]

# local and factory exported below
from scholargraph.embedding.factory import make_embedder  # noqa: E402
from scholargraph.embedding.local import LocalEmbedder  # noqa: E402

__all__ += ["LocalEmbedder", "make_embedder"]
