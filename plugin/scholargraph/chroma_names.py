"""Names in Chroma: which collection holds which model's vectors of which scope.

Collections are named by model and dimension, so vectors of two models never mix, and chunks
get one collection per scope. Chroma allows 3-63 characters with alphanumeric ends, so names
are slugs cut short with a hash that keeps them unique.
"""

from __future__ import annotations

import hashlib
import re

from scholargraph.ids import split_chunk_id


def _slug(text: str, keep: int = 40) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:keep].strip("-") or "x"


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def model_key(model: str, dimension: int) -> str:
    """Names a model and size inside collection names."""
    return f"{_slug(model, 30)}-{dimension}-{_short_hash(f'{model}|{dimension}')[:6]}"


def chunks_collection_name(prefix: str, model: str, dimension: int, scope: str) -> str:
    """Chroma-legal (3-63 chars, alphanumeric ends) and unique per (model, dimension, scope)."""
    return f"{prefix}-c-{model_key(model, dimension)}-{_slug(scope, 8)}-{_short_hash(scope)}"[:63].strip("-")


def papers_collection_name(prefix: str, model: str, dimension: int) -> str:
    return f"{prefix}-p-{model_key(model, dimension)}"[:63].strip("-")


def scope_of_chunk(chunk_id_: str) -> str:
    """Chunk ids are ``{scope}:{paper_id}:{index}``; scopes may themselves hold colons."""
    return split_chunk_id(chunk_id_)[0]
