"""An ingest run: which files to skip, copy or parse, then each parsed paper committed on its own.

Idempotent by content hash: a file already in the scope is skipped; one already in another
scope is copied without re-embedding; two files with one content in a run are parsed once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scholargraph.chunking import chunk_paper, embedding_text
from scholargraph.errors import ScholarGraphError
from scholargraph.ids import content_hash, paper_id_for
from scholargraph.ingest.commit import PaperWriter
from scholargraph.ingest.discovery import discover
from scholargraph.ingest.parse_stage import OnPage, ParsedFile, parse_all
from scholargraph.ingest.report import FileProgress, IngestEvent, IngestReport
from scholargraph.models import Chunk, Paper
from scholargraph.ingest.ingest_parts import IngestParts
from scholargraph.parsing.parse_cache import forget_parse, sweep_parses


@dataclass
class Plan:
    """What a run does with each file before any parsing: the rest is in the report already."""

    to_parse: list[tuple[Path, str]] = field(default_factory=list)  # (file, content hash)
    later_copies: list[tuple[str, str]] = field(default_factory=list)  # (paper id, origin): same content twice


class Ingestor:
    """Turns files into stored papers through one set of parts (embedder + vector store + graph)."""

    def __init__(self, parts: IngestParts) -> None:
        self.parts = parts
        self.writer = PaperWriter(parts)

    def run(
        self,
        paths: Iterable[str | Path],
        scope: str = "default",
        progress: Callable[[IngestEvent], None] | None = None,
        origins: dict[str, str] | None = None,
    ) -> IngestReport:
        """Ingest files and folders into a scope; ``origins`` may name what a path came from (an
        Open WebUI file, ...), recorded in its stead."""
        started = time.perf_counter()
        report = IngestReport()
        files, refused = discover(paths)
        emit = FileProgress(progress, len(files) + len(refused))
        for refused_path, reason in refused:
            report.failed.append((refused_path, reason))
            emit(refused_path, "failed", reason)
        plan = self._plan(files, scope, origins or {}, report, emit)
        if plan.to_parse:  # parses the document loader left that nobody ingested go after parsing.cache_ttl_s
            sweep_parses(self.parts.settings.parsing)
        for parsed in parse_all(plan.to_parse, self.parts.settings.parsing, emit.inside):
            self._add(parsed, scope, origins or {}, report, emit)
        graph = self.parts.graph
        for pid, origin in plan.later_copies:
            if graph.in_scope(pid, scope):  # not when its first copy failed
                graph.add_origin(pid, scope, origin)
        report.wall_seconds = time.perf_counter() - started
        return report

    def _plan(self, files: list[Path], scope: str, origins: dict[str, str], report: IngestReport,
              emit: FileProgress) -> Plan:
        """Skip what the scope holds, copy what another scope holds, and list the rest to parse."""
        graph = self.parts.graph
        plan = Plan()
        seen_hashes: set[str] = set()
        for path in files:
            try:
                digest = content_hash(path)
            except OSError as exc:
                report.failed.append((str(path), f"{path.name}: cannot read ({exc.strerror or exc})"))
                emit(str(path), "failed", report.failed[-1][1])
                continue
            pid = paper_id_for(digest)
            report.paper_ids[str(path)] = pid
            origin = origins.get(str(path), str(path))
            if graph.in_scope(pid, scope):
                # the same paper from another file: remember that file too, so removing
                # one copy leaves the paper in place while another remains
                graph.add_origin(pid, scope, origin)
                forget_parse(self.parts.settings.parsing, digest)  # the loader parsed a paper already here
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: already ingested", pid)
                continue
            if digest in seen_hashes:  # recorded once its first copy is stored
                plan.later_copies.append((pid, origin))
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: same content as another file in this ingest", pid)
                continue
            seen_hashes.add(digest)
            if graph.has_paper(pid):
                try:
                    self.writer.copy_into_scope(pid, scope, origin, report)
                    forget_parse(self.parts.settings.parsing, digest)
                    report.copied.append(str(path))
                    emit(str(path), "copied", f"{path.name}: added to '{scope}' (already embedded)", pid)
                except ScholarGraphError as exc:
                    report.failed.append((str(path), f"{path.name}: {exc}"))
                    emit(str(path), "failed", report.failed[-1][1], pid)
                continue
            plan.to_parse.append((path, digest))
        return plan

    def _add(self, parsed: ParsedFile, scope: str, origins: dict[str, str], report: IngestReport,
             emit: FileProgress) -> None:
        """Commit one parsed file and report it."""
        path, paper, error, seconds, stats = parsed
        report.seconds["parse"] += seconds
        if stats is not None:
            report.seconds["parse_cpu"] = report.seconds.get("parse_cpu", 0.0) + stats.cpu_seconds
        if error or paper is None:
            report.failed.append((str(path), error or f"{path.name}: no result"))
            emit(str(path), "failed", report.failed[-1][1])
            return
        if str(path) in origins:
            paper.origin = origins[str(path)]
        try:
            n_chunks = self.writer.commit(paper, scope, report)
        except ScholarGraphError as exc:
            report.failed.append((str(path), f"{path.name}: {exc}"))
            emit(str(path), "failed", report.failed[-1][1], paper.id)
            return
        report.added.append(str(path))
        report.pages += paper.pages
        report.chunks += n_chunks
        ocr = ""
        if stats is not None and stats.ocr_pages:
            report.ocr_pages += len(stats.ocr_pages)
            report.ocr_seconds += stats.ocr_seconds
            ocr = f"; OCR of {len(stats.ocr_pages)} pages, {stats.ocr_seconds / len(stats.ocr_pages):.1f} s a page"
        emit(str(path), "added", f"{path.name}: {paper.title} ({n_chunks} chunks{ocr})", paper.id)

    def add_parsed(self, papers: list[Paper], scope: str = "default") -> IngestReport:
        """Store papers that are already parsed (documents from a data set, an external loader),
        embedding all their chunks in one batch; each paper still commits on its own."""
        report = IngestReport()
        graph, settings = self.parts.graph, self.parts.settings
        chunked = [(p, chunk_paper(p, settings.chunking)) for p in papers if not graph.in_scope(p.id, scope)]
        t0 = time.perf_counter()
        texts = [embedding_text(p.title, c) for p, chunks in chunked for c in chunks]
        vectors = self.parts.embedder.embed_documents(texts)
        report.seconds["embed"] += time.perf_counter() - t0
        offset = 0
        for paper, chunks in chunked:
            own = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            try:
                report.chunks += self.writer.commit(paper, scope, report, chunks, own)
                report.added.append(paper.origin)
                report.paper_ids[paper.origin] = paper.id
            except ScholarGraphError as exc:
                report.failed.append((paper.origin, str(exc)))
        return report

    def _commit(self, paper: Paper, scope: str, report: IngestReport, chunks: list[Chunk] | None = None,
                vectors: np.ndarray | None = None) -> int:
        """``PaperWriter.commit``: one paper, all or nothing."""
        return self.writer.commit(paper, scope, report, chunks, vectors)
