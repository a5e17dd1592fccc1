"""The reads a face needs from a library, beside the front door's ingest and questions.

Faces import only ``Library`` (tests/test_layout.py checks it), so every read they make is a
method here, delegating to the part that holds the answer; ``Library`` inherits them. Kept apart
so the front door stays one page of ingest, delete and ask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from scholargraph.settings import Settings

if TYPE_CHECKING:
    from scholargraph.chroma_store import ChunkHit, VectorStore
    from scholargraph.embedding.base import Embedder
    from scholargraph.graph import PaperGraph, PaperRow
    from scholargraph.library import Library
    from scholargraph.models import Paper
    from scholargraph.retrieval.context import ContextPack
    from scholargraph.retrieval.extractive import ExtractiveAnswer
    from scholargraph.retrieval.library_overview import Overview


class LibraryReads:
    """Reads for the faces; the parts (``graph``, ``store``, ``embedder``) are ``Library``'s."""

    settings: Settings

    if TYPE_CHECKING:
        @property
        def graph(self) -> PaperGraph: ...

        @property
        def store(self) -> VectorStore: ...

        @property
        def embedder(self) -> Embedder: ...

    @property
    def _library(self) -> Library:
        """This object as the ``Library`` it is part of (library_io's operations take a Library)."""
        return cast("Library", self)

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

        return show_paper(self._library, paper_id, scopes)

    def show_markdown(self, query: str, scopes: list[str] | None) -> str:
        """'/show <paper id or title words>' answered as markdown, among ``scopes`` only."""
        from scholargraph.library_io.show import show_markdown

        return show_markdown(self._library, query, scopes)

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

        return export(self._library, fmt, scopes, paper_ids)

    @staticmethod
    def export_formats() -> dict[str, tuple[str, str]]:
        """Each citation format's media type and file suffix, for a face that offers a download."""
        from scholargraph.library_io.export import FORMATS, MEDIA_TYPES, SUFFIXES

        return {fmt: (MEDIA_TYPES[fmt], SUFFIXES[fmt]) for fmt in FORMATS}

    def reading_list(self, scopes: list[str] | None = None, min_citing: int = 2,
                     limit: int | None = None) -> list[dict[str, Any]]:
        """Works several library papers cite that the library does not hold, the most cited first."""
        from scholargraph.library_io.reading_list import reading_list

        return reading_list(self._library, scopes, min_citing=min_citing, limit=limit)

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
    def parse_for_loader(path: str | Path, settings: Settings, digest: str | None = None) -> Paper:
        """Parse a file for a document loader (Open WebUI's ``PUT /process``) and keep the parse in
        ``parsing.cache_dir``, so ingesting the same bytes later takes it instead of parsing again.
        No library is opened: a loader only reads files. Raises ParseError naming the file."""
        from scholargraph.parsing.pipeline import parse_and_keep

        return parse_and_keep(path, settings.parsing, digest)

    def ocr_estimate(self, path: Path) -> tuple[int, float]:
        """(pages of a PDF that need OCR, seconds reading them would take) by ``parsing`` settings."""
        from scholargraph.parsing.pdf import ocr_pages_needed, ocr_seconds_estimate

        pages = ocr_pages_needed(path, self.settings.parsing)
        return pages, ocr_seconds_estimate(pages, self.settings.parsing)
