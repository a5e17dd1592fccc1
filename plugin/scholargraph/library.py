"""The engine's front door: one object holding settings, embedder, vector store and graph.

Every face (CLI, HTTP service, Open WebUI functions, Pipelines, LangChain) talks to a
``Library`` and nothing else, so none of them holds logic of its own. The reads they need beside
ingest and questions (a paper, its file, exports, origins) are ``library_reads.LibraryReads``, inherited.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scholargraph.library_reads import LibraryReads
from scholargraph.settings import Settings

if TYPE_CHECKING:  # imported where used: `papers`, `graph`, `stats` must start without Chroma or parsing
    import numpy as np

    from scholargraph.embedding.base import Embedder
    from scholargraph.graph import PaperGraph, PaperRow
    from scholargraph.ingest import IngestEvent, IngestReport
    from scholargraph.chroma_store import VectorStore
    from scholargraph.maintenance import Orphans
    from scholargraph.retrieval.context import ContextPack
    from scholargraph.retrieval.results import SearchResult
    from scholargraph.retrieval.search import Searcher
    from scholargraph.models import Paper

log = logging.getLogger("scholargraph")


class Library(LibraryReads):
    """A researcher's paper library on one set of settings."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)

    @cached_property
    def embedder(self) -> Embedder:
        from scholargraph.embedding.factory import make_embedder

        return self._embedder or make_embedder(self.settings.embedding)

    @cached_property
    def store(self) -> VectorStore:
        from scholargraph.chroma_store import VectorStore

        return VectorStore(
            self.settings.store, self.settings.data_dir, self.embedder.name, self.embedder.dimension
        )

    @cached_property
    def graph(self) -> PaperGraph:
        from scholargraph.graph import PaperGraph

        return PaperGraph(self.settings.graph_url, self.settings.graph)

    # -- ingest and delete ----------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        scope: str = "default",
        progress: Callable[[IngestEvent], None] | None = None,
        origins: dict[str, str] | None = None,
    ) -> IngestReport:
        """Parse, embed and store files and folders in ``scope`` (see ``scholargraph.ingest``).

        The ingestor gets this library as its ``ports.IngestParts``: the embedder, vector store
        and graph it writes through, each opened on first use (a run that only skips files opens
        neither Chroma nor the embedding server)."""
        from scholargraph.ingest import Ingestor

        if self.settings.parsing.executor == "ray":  # bulk imports: parsing on a Ray cluster
            from scholargraph.ingest_ray import RayIngestor

            return RayIngestor(self).run(paths, scope=scope, progress=progress, origins=origins)
        return Ingestor(self).run(paths, scope=scope, progress=progress, origins=origins)

    def parse_ahead(self, path: str | Path) -> str | None:
        """Parse a file this library does not hold yet into ``parsing.cache_dir`` before ``ingest``
        is called under a caller's write lock, so the lock is held for embedding and the commit
        only, not for minutes of OCR (Open WebUI indexes one file at a time per process). Returns
        the reason when the file cannot be parsed (what ``ingest`` would report), else None. Does
        nothing with parse workers or Ray, which parse outside the caller anyway."""
        from scholargraph.errors import ParseError
        from scholargraph.ids import content_hash, paper_id_for
        from scholargraph.parsing.parse_cache import cache_for

        parsing = self.settings.parsing
        cache = cache_for(parsing)
        if parsing.workers or parsing.executor != "local" or cache is None:
            return None
        try:
            digest = content_hash(path)
            if self.graph.has_paper(paper_id_for(digest)) or cache.holds(digest):
                return None  # held already (copied into the scope), or parsed by the document loader
            self.parse_for_loader(path, self.settings, digest)
        except ParseError as exc:
            return str(exc)
        except Exception:  # unreadable now, or a parser bug: the ingest tries again and reports why
            return None
        return None

    @staticmethod
    def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
        """The files ``ingest`` takes under these files and folders, and those it refuses, with why."""
        from scholargraph.ingest.discovery import discover

        return discover(paths)

    def add_parsed(self, papers: list[Paper], scope: str = "default") -> IngestReport:
        """Store already-parsed papers (e.g. from an external loader or an evaluation set)."""
        from scholargraph.ingest import Ingestor

        return Ingestor(self).add_parsed(papers, scope=scope)

    def similar_edges(self, paper_id: str, vector: np.ndarray) -> list[tuple[str, float]]:
        """The 'similar' edges of a paper about to be added (its vector already stored); see
        ``graph.similar``. Papers whose nearest list it enters lose the edge it pushes out."""
        from scholargraph.graph.similar import edges_for_new_paper

        return edges_for_new_paper(self.store, self.graph, paper_id, vector, self.settings.graph)

    def upgrade(self) -> int:
        """Bring papers stored by an older version up to date (the graph gets the vectors Chroma
        holds; see ``vector_upgrade``); returns how many were changed. Safe to run again."""
        from scholargraph.vector_upgrade import upgrade_vectors

        return upgrade_vectors(self.graph, self.store)

    def upgrade_logged(self) -> int | None:
        """``upgrade`` for a long-running face: the outcome is logged, never raised."""
        try:
            changed = self.upgrade()
        except Exception as exc:  # a server that is down must not stop the face; it can run later
            log.warning("library upgrade did not run (%s); run `scholargraph upgrade` later", exc)
            return None
        if changed:
            log.info("upgraded %d paper(s) made by an older version", changed)
        return changed

    def sweep_orphans(self, grace_s: float | None = None) -> Orphans:
        """Delete vectors whose paper never committed (a kill inside a commit); see ``maintenance``."""
        from scholargraph.maintenance import sweep_orphans

        return sweep_orphans(self, grace_s)

    def start_upgrade(self) -> threading.Thread | None:
        """``upgrade_logged`` in a daemon thread when ``graph.upgrade_on_open``, else None: an older
        library serves while it catches up. The one place that thread starts (service, Open WebUI)."""
        if not self.settings.graph.upgrade_on_open:
            return None
        return _in_background("library upgrade", self.upgrade_logged)

    def start_sweep(self) -> threading.Thread:
        """The orphan vector and stale parse sweep (``maintenance.sweep_orphans_logged``) in a daemon thread."""
        from scholargraph.maintenance import sweep_orphans_logged

        return _in_background("orphan vector sweep", lambda: sweep_orphans_logged(self))

    def delete(self, paper_id: str, scope: str | None = None) -> bool:
        """Delete a paper from one scope (or all). The graph commits first; it is what reads trust."""
        if scope is None:
            if not self.graph.has_paper(paper_id):
                return False
            self.graph.delete_paper(paper_id)
            self.store.delete_paper(paper_id)
            self._refresh_similar()
            return True
        if not self.graph.in_scope(paper_id, scope):
            return False
        gone = self.graph.remove_from_scope(paper_id, scope)
        self.store.delete_paper(paper_id, scope)
        if gone:
            self.store.delete_paper_vector(paper_id)
            self._refresh_similar()
        return True

    def _refresh_similar(self) -> None:
        """Papers that were similar to deleted ones get their 'similar' edges recomputed."""
        from scholargraph.graph.similar import refresh

        refresh(self.store, self.graph, self.graph.take_similar_stale(), self.settings.graph)

    def remove_origin(self, scope: str, origin: str) -> list[str]:
        """Forget one origin (file) in ``scope``; the papers that had no other copy there leave it
        (and the library, if no other scope holds them). Returns the papers that left."""
        left, gone = self.graph.remove_origin(scope, origin)
        for paper_id in left:
            self.store.delete_paper(paper_id, scope)
        for paper_id in gone:
            self.store.delete_paper_vector(paper_id)
        self._refresh_similar()
        return left

    def delete_scope(self, scope: str) -> list[str]:
        """Forget a whole knowledge base; papers only it held are deleted everywhere."""
        gone = self.graph.delete_scope(scope)
        self.store.delete_scope(scope)
        for paper_id in gone:
            self.store.delete_paper_vector(paper_id)
        self._refresh_similar()
        return gone

    # -- questions ------------------------------------------------------------------------
    @cached_property
    def searcher(self) -> Searcher:
        """The search over this library's embedder, vectors and graph (``retrieval.ports``); it
        reads ``settings.retrieval`` on every question."""
        from scholargraph.retrieval.search import Searcher

        return Searcher(self.embedder, self.store, self.graph, lambda: self.settings.retrieval)

    def search(self, question: str, scopes: list[str] | None = None, **options: Any) -> SearchResult:
        """Passages and graph neighbours for a question (see ``Searcher.search`` for options)."""
        return self.searcher.search(question, scopes, **options)

    def context(self, question: str, scopes: list[str] | None = None, *, library_questions: str | None = None,
                **options: Any) -> ContextPack:
        """Search, then pack numbered cited papers within the token budget; a question about the whole
        library (``library_questions``, default ``retrieval.library_questions``) gets its overview."""
        from scholargraph.retrieval.context import build_context
        from scholargraph.retrieval.library_overview import library_pack

        qvec = None
        if (library_questions or self.settings.retrieval.library_questions) != "off" \
                and options.get("task", "retrieve") == "retrieve":  # one embedding serves detection and search
            qvec = self.embedder.embed_queries([question])[0]
            options = {**options, "qvec": qvec}
        pack = library_pack(self.embedder, self.graph, self.store, question, scopes, library_questions, qvec,
                            self.settings.retrieval)
        if pack is not None:
            return pack
        return build_context(self.search(question, scopes, **options), self.settings.retrieval.context_tokens)

    def answer_messages(self, question: str, pack: ContextPack) -> list[dict[str, str]]:
        """The chat messages for a cited answer over a context pack (system rules, then the cited papers
        and the question), in ``llm.answer_language`` or the pack's: for a face whose own chat
        model writes the answer (Open WebUI's Pipe) as for ``answer_stream``."""
        from scholargraph.retrieval.prompts import answer_messages

        return answer_messages(question, pack.text, pack.language, self.settings.llm.answer_language)

    def answer_stream(self, question: str, pack: ContextPack) -> Iterator[str]:
        """Stream the chat LLM's cited answer over a context pack."""
        from scholargraph.llm import ChatLLM

        yield from ChatLLM(self.settings.llm).stream(self.answer_messages(question, pack))

    # -- listings -------------------------------------------------------------------------
    def papers(self, scopes: list[str] | None = None) -> list[PaperRow]:
        return self.graph.papers(scopes)

    def paper_count(self, scopes: list[str] | None = None) -> int:
        """Papers in the scopes, in one cheap query: a face checks there is something to work on."""
        return self.graph.scope_version(scopes)[0]

    def graph_json(self, scopes: list[str] | None = None, reading_list: bool = False,
                   around: list[str] | None = None, hops: int = 1) -> dict[str, Any]:
        """Papers and their links; ``reading_list`` adds the works they cite that the library lacks;
        ``around``: only the papers within ``hops`` links of these (the graph's own walk)."""
        graph: dict[str, Any] = dict(self.graph.export(scopes, around=around, hops=hops))
        if reading_list:
            from scholargraph.library_io.reading_list import with_ghosts

            graph = with_ghosts(graph, self.reading_list(scopes))
        return graph

    def stats(self, scopes: list[str] | None = None) -> dict[str, Any]:
        stats = dict(self.graph.stats(scopes))
        stats["chunks"] = self.graph.committed_chunks(scopes)  # not Chroma's count: it may hold orphans
        stats["embedding_model"] = self.embedder.name  # no model load: names and sizes are known up front
        stats["dimension"] = self.embedder.dimension
        stats["vector_store"] = self._store_location()
        stats["graph_database"] = self.graph.url
        return stats

    def _store_location(self) -> str:
        """``VectorStore.location`` without opening Chroma (its import alone is most of a second)."""
        if "store" in self.__dict__:
            return self.store.location
        s = self.settings.store
        if s.chroma_host:
            return f"chroma server {s.chroma_host}:{s.chroma_port}"
        return f"embedded chroma at {Path(self.settings.data_dir) / 'chroma'}"

    def close(self) -> None:
        if "graph" in self.__dict__:
            self.graph.close()


def _in_background(what: str, job: Callable[[], object]) -> threading.Thread:
    """``job()`` in a started daemon thread named after ``what``: the graph and vectors open there,
    so a face starts serving at once; each job logs its own outcome and never raises."""
    thread = threading.Thread(target=job, name=f"scholargraph-{what.split()[-1]}", daemon=True)
    thread.start()
    return thread
