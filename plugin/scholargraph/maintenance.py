"""Library housekeeping: vectors whose paper never committed, parses nobody ingested.

An ingest writes a paper's vectors to Chroma first and commits the paper to the graph last
(the graph is what reads trust). A process killed between the two leaves chunk vectors and a
paper vector that no read ever shows, but that take space, and that an older ``stats`` counted.
``sweep_orphans`` finds them, waits ``store.orphan_grace_s`` so that an ingest still inside its
commit in another process can finish, and deletes those that are still orphans.

The same sweep removes the document loader's waiting parses (``parsing.cache_dir``) older than
``parsing.cache_ttl_s``: a file attached in Open WebUI and never ingested leaves one, and
writing the next entry is not the only moment they should go (service start, ``doctor``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from scholargraph.ids import split_chunk_id
from scholargraph.parsing.parse_cache import sweep_parses

if TYPE_CHECKING:
    from scholargraph.settings import Settings

log = logging.getLogger("scholargraph")


class OrphanVectors(Protocol):
    """The vector store as the sweep reads and deletes it (``chroma_store.VectorStore``)."""

    def chunk_ids_by_scope(self) -> dict[str, list[str]]: ...

    def paper_vector_ids(self) -> list[str]: ...

    def delete_chunks(self, ids: list[str]) -> None: ...

    def delete_paper_vectors(self, paper_ids: list[str]) -> None: ...


class CommitRecord(Protocol):
    """The paper graph as the record of what committed (``graph.PaperGraph``)."""

    def chunk_ids(self, paper_ids: Sequence[str], scopes: Sequence[str] | None = None) -> dict[str, list[str]]: ...

    def papers_by_ids(self, paper_ids: Sequence[str], scopes: Sequence[str] | None = None) -> Mapping[str, object]: ...


class SweptParts(Protocol):
    """What a sweep runs on: the vector store, the graph and the settings (``Library`` has them)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> OrphanVectors: ...

    @property
    def graph(self) -> CommitRecord: ...


@dataclass
class Orphans:
    """Vector ids with no committed paper behind them (and how many stale parses went with them)."""

    chunks: list[str] = field(default_factory=list)
    papers: list[str] = field(default_factory=list)
    stale_parses: int = 0  # parse cache entries past parsing.cache_ttl_s that nobody ingested

    def __bool__(self) -> bool:
        return bool(self.chunks or self.papers)

    def to_json(self) -> dict[str, int]:
        return {"orphan_chunks": len(self.chunks), "orphan_paper_vectors": len(self.papers),
                "stale_parses": self.stale_parses}


def find_orphans(parts: SweptParts, only: Orphans | None = None) -> Orphans:
    """Chunk vectors whose (paper, scope) and paper vectors whose paper the graph has not committed.

    ``only``: check just these ids again (the second look of a sweep).
    """
    store, graph = parts.store, parts.graph
    by_scope: dict[str, list[str]]
    if only is None:
        by_scope = store.chunk_ids_by_scope()
        paper_ids = store.paper_vector_ids()
    else:
        by_scope = {}
        for cid in only.chunks:
            by_scope.setdefault(split_chunk_id(cid)[0], []).append(cid)
        paper_ids = list(only.papers)
    chunks: list[str] = []
    for scope, ids in by_scope.items():
        committed = graph.chunk_ids(list({split_chunk_id(cid)[1] for cid in ids}), [scope])
        expected = {cid for cids in committed.values() for cid in cids}
        chunks.extend(cid for cid in ids if cid not in expected)
    known = graph.papers_by_ids(paper_ids) if paper_ids else {}
    return Orphans(chunks=chunks, papers=[pid for pid in paper_ids if pid not in known])


def sweep_orphans(parts: SweptParts, grace_s: float | None = None) -> Orphans:
    """Delete orphan vectors that stay orphans for ``grace_s`` seconds, and stale parses; returns
    what was deleted. Parses go first: they need neither the vector store nor the graph."""
    parses = sweep_parses(parts.settings.parsing)
    grace = parts.settings.store.orphan_grace_s if grace_s is None else grace_s
    try:
        first = find_orphans(parts)
    except Exception:
        if parses:
            log.info("removed %d parse(s) nobody ingested within parsing.cache_ttl_s", parses)
        raise
    if not first:
        first.stale_parses = parses
        return first
    if grace > 0:
        time.sleep(grace)
    still = find_orphans(parts, only=first)
    parts.store.delete_chunks(still.chunks)
    parts.store.delete_paper_vectors(still.papers)
    still.stale_parses = parses
    return still


def sweep_orphans_logged(parts: SweptParts, grace_s: float | None = None) -> Orphans | None:
    """``sweep_orphans`` for a long-running face: the outcome is logged, never raised."""
    try:
        gone = sweep_orphans(parts, grace_s)
    except Exception as exc:  # a server that is down must not stop the face
        log.warning("orphan vector sweep did not run (%s); run `scholargraph doctor` later", exc)
        return None
    if gone:
        log.info("removed %d chunk vector(s) and %d paper vector(s) left by an interrupted ingest",
                 len(gone.chunks), len(gone.papers))
    if gone.stale_parses:
        log.info("removed %d parse(s) nobody ingested within parsing.cache_ttl_s", gone.stale_parses)
    return gone
