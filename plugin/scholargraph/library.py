"""The engine's front door: one object holding settings, embedder, vector store and graph.

Every face (CLI, HTTP service, Open WebUI functions, Pipelines, LangChain) talks to a
``Library`` and nothing else, so none of them holds logic of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scholargraph.settings import Settings

if TYPE_CHECKING:  # imported where used: `papers`, `graph`, `stats` must start without Chroma or parsing
    import numpy as np

    from scholargraph.embedding.base import Embedder
    from scholargraph.graph import PaperGraph, PaperRow
    from scholargraph.ingest import IngestEvent, IngestReport
    from scholargraph.chroma_store import VectorStore
    from scholargraph.maintenance import Orphans
    from scholargraph.chroma_store import ChunkHit
    from scholargraph.maintenance import Orphans
    from scholargraph.retrieval.context import ContextPack
    from scholargraph.retrieval.extractive import ExtractiveAnswer
    from scholargraph.retrieval.library_overview import Overview
    from scholargraph.retrieval.results import SearchResult
    from scholargraph.retrieval.search import Searcher
    from scholargraph.models import Paper

log = logging.getLogger("scholargraph")


class Library:
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

    # -- reads for the faces (they import Library only, never the engine's parts) ----------
    def get_paper(self, paper_id: str, scopes: list[str] | None = None) -> PaperRow | None:
        """One paper's row (metadata, origin, content hash) in the scopes, or None."""
        return self.graph.get_paper(paper_id, scopes)

    def paper_file(self, paper: Mapping[str, Any]) -> Path | None:
        """A paper's own file, when its origin (the row's ``source``) is still on disk with the same content."""
        from scholargraph.ids import content_hash

        origin = Path(paper.get("source") or "")
        if origin.is_file() and content_hash(origin) == paper.get("content_hash"):
            return origin
        return None

    def show_paper(self, paper_id: str, scopes: list[str] | None = None) -> dict[str, Any] | None:
        """Metadata, abstract, sections, citations in and out, citing and similar papers."""
        from scholargraph.library_io.show import show_paper

        return show_paper(self, paper_id, scopes)

    def show_markdown(self, query: str, scopes: list[str] | None) -> str:
        """'/show <paper id or title words>' answered as markdown, among ``scopes`` only."""
        from scholargraph.library_io.show import show_markdown

        return show_markdown(self, query, scopes)

    def writes_answers(self) -> bool:
        """Whether ``llm.*`` names a chat LLM of ScholarGraph's own (else answers are quoted)."""
        from scholargraph.llm import configured

        return configured(self.settings.llm)

    def overview(self, scopes: list[str] | None = None) -> Overview:
        """Themes, in-library citation counts and citations between the papers (whole-library questions)."""
        from scholargraph.retrieval.library_overview import build_overview

        return build_overview(self.graph, self.store, scopes, self.settings.retrieval)

    def overview_pack(self, scopes: list[str] | None = None, intent: str | None = None) -> ContextPack:
        """The overview as a context pack ('themes', 'cited' or 'relations' first), whatever the question."""
        from scholargraph.retrieval.library_overview import overview_pack

        return overview_pack(self.graph, self.store, scopes, intent, self.settings.retrieval)

    def quote(self, question: str, pack: ContextPack) -> ExtractiveAnswer:
        """The answer without a chat LLM: the pack's sentences that answer best, each cited [n]
        (``llm.extractive_sentences`` of them); a whole-library pack answers with its overview."""
        from scholargraph.retrieval.extractive import quote_answer

        return quote_answer(self.embedder, question, pack, self.settings.llm.extractive_sentences,
                            self.settings.retrieval)

    def question_language(self, question: str, scopes: list[str] | None = None, *, earlier: Sequence[str] = (),
                          user_language: str = "") -> str:
        """The language to answer in: the question's, else the earlier turns', the user's
        interface language, the main language of the papers in ``scopes``."""
        from scholargraph.retrieval.prompts import resolve_language

        return resolve_language(self.graph, question, scopes, earlier=earlier, user_language=user_language)

    def chunk_texts(self, scopes: list[str] | None = None) -> list[ChunkHit]:
        """Every stored chunk of the scopes with its text (an evaluation's BM25 baseline)."""
        return self.store.texts(scopes)

    def export(self, fmt: str, scopes: list[str] | None = None, paper_ids: list[str] | None = None) -> str:
        """The chosen papers as citations in ``fmt`` (one of ``export_formats``)."""
        from scholargraph.library_io.export import export

        return export(self, fmt, scopes, paper_ids)

    @staticmethod
    def export_formats() -> dict[str, tuple[str, str]]:
        """Each citation format's media type and file suffix, for a face that offers a download."""
        from scholargraph.library_io.export import FORMATS, MEDIA_TYPES, SUFFIXES

        return {fmt: (MEDIA_TYPES[fmt], SUFFIXES[fmt]) for fmt in FORMATS}

    def reading_list(self, scopes: list[str] | None = None, min_citing: int = 2,
                     limit: int | None = None) -> list[dict[str, Any]]:
        """Works several library papers cite that the library does not hold, the most cited first."""
        from scholargraph.library_io.reading_list import reading_list

        return reading_list(self, scopes, min_citing=min_citing, limit=limit)

    def origins_in_scope(self, scope: str) -> dict[str, list[str]]:
        """Every origin (file, Open WebUI file, ...) recorded in a scope and the paper ids it holds."""
        return self.graph.origins_in_scope(scope)

    def papers_by_ids(self, paper_ids: list[str], scopes: list[str] | None = None) -> dict[str, PaperRow]:
        """The papers among ``paper_ids`` visible in ``scopes``, by id."""
        return self.graph.papers_by_ids(paper_ids, scopes)

    @staticmethod
    def readable_suffixes() -> frozenset[str]:
        """File suffixes the library parses (.pdf, .docx, .html, .md, .txt, ...)."""
        from scholargraph.parsing import SUPPORTED_SUFFIXES

        return frozenset(SUPPORTED_SUFFIXES)

    @staticmethod
    def parse_for_loader(path: Path, settings: Settings) -> Paper:
        """Parse a file for a document loader (Open WebUI's ``PUT /process``) and keep the parse in
        ``parsing.cache_dir``, so ingesting the same bytes later takes it instead of parsing again.
        No library is opened: a loader only reads files. Raises ParseError naming the file."""
        from scholargraph.parsing.pipeline import parse_and_keep

        return parse_and_keep(path, settings.parsing)

    def ocr_estimate(self, path: Path) -> tuple[int, float]:
        """(pages of a PDF that need OCR, seconds reading them would take) by ``parsing`` settings."""
        from scholargraph.parsing.pdf import ocr_pages_needed, ocr_seconds_estimate

        pages = ocr_pages_needed(path, self.settings.parsing)
        return pages, ocr_seconds_estimate(pages, self.settings.parsing)

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
