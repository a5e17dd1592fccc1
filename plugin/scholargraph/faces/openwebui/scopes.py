"""Scope names and paper origins for Open WebUI's knowledge bases and chat files.

A knowledge base is scope ``kb:{knowledge_id}``; a file attached to a chat is ``file:{file_id}``,
so it is visible exactly to those Open WebUI lets read that file (``scholargraph.scope_names``
writes and reads those strings). A paper that came from an Open
WebUI file records ``openwebui-file:{file_id}/{name}`` as its origin, so removing the file can
find the paper even after Open WebUI has deleted the file itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scholargraph.scope_names import ScopeKind, ScopeName, ids_of


# The model id suffix of the assistant Pipe; the Filter leaves that model alone (the Pipe retrieves itself).
PIPE_MODEL_ID = "scholargraph-assistant"


SOURCE_TYPE = "scholargraph"  # ``source.type`` of our citations: Open WebUI's word and shape


_FILE_ORIGIN = re.compile(r"^openwebui-file:(?P<id>[^/]+)/(?P<name>.*)$")


def kb_scope(knowledge_id: str) -> str:
    return ScopeName.kb(knowledge_id).format()


def file_scope(file_id: str) -> str:
    return ScopeName.file(file_id).format()


def kb_ids(scopes: Iterable[str]) -> list[str]:
    """The knowledge base ids among ``scopes`` (for Open WebUI's access check)."""
    return ids_of(ScopeKind.KB, scopes)


def file_ids(scopes: Iterable[str]) -> list[str]:
    """The chat file ids among ``scopes``."""
    return ids_of(ScopeKind.FILE, scopes)


def file_origin(file_id: str, name: str) -> str:
    """The origin a paper records when it came from an Open WebUI file."""
    return f"openwebui-file:{file_id}/{name}"


def parse_file_origin(origin: str | None) -> tuple[str, str] | None:
    """(file_id, name) from ``file_origin``'s string, None for other origins (CLI paths...)."""
    match = _FILE_ORIGIN.match(origin or "")
    return (match["id"], match["name"]) if match else None


def is_paper_file(name: str) -> bool:
    """Files ScholarGraph parses; others are left to Open WebUI."""
    from scholargraph.library import Library

    return Path(name or "").suffix.lower() in Library.readable_suffixes()
