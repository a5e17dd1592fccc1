"""Stable identifiers: a paper is named by its content, so re-ingesting it is recognisable."""

from __future__ import annotations

import hashlib
from pathlib import Path


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def paper_id_for(content_sha256: str) -> str:
    """Short, stable paper id derived from the content hash."""
    return content_sha256[:16]


def chunk_id(scope: str, paper_id: str, index: int) -> str:
    """Chunk ids are per scope, so one paper in two knowledge bases never shares a row."""
    return f"{scope}:{paper_id}:{index:05d}"


def split_chunk_id(chunk_id_: str) -> tuple[str, str, int]:
    """(scope, paper id, index) of a ``chunk_id``; split from the right, as a scope may hold colons."""
    scope, paper_id, index = chunk_id_.rsplit(":", 2)
    return scope, paper_id, int(index)
