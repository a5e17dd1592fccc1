"""Ingest orchestration: files -> parsed papers -> chunks -> vectors -> store + graph.

Idempotent by content hash (a file already in the scope is skipped; one already in another
scope is copied without re-embedding). Parsing runs beside embedding: by default in a thread of
this process (a PDF page parses in ~5-15 ms, so embedding bounds ingest on a CPU and a worker
process would only add its imports and memory), or in ``parsing.workers`` warm worker processes
that die with this one. Each paper commits whole or not at all: vectors are written first and
removed again if the graph transaction fails, and the graph row is the commit record that every
read checks.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scholargraph.chunking import chunk_paper, count_tokens, embedding_text
from scholargraph.errors import ParseError, ScholarGraphError
from scholargraph.ids import content_hash, paper_id_for
from scholargraph.models import Chunk, Paper
from scholargraph.packed_vectors import PackedVectors
from scholargraph.parsing import SUPPORTED_SUFFIXES
from scholargraph.parsing.pdf import page_progress
from scholargraph.parsing.pipeline import ParseStats
from scholargraph.settings import ParsingSettings

log = logging.getLogger(__name__)


@dataclass
class IngestEvent:
    """What a progress display needs: which file, what happened, and how far along we are."""

    path: str
    status: str  # "added" | "skipped" | "copied" | "failed"; "parsing": progress inside a file, ``done`` unchanged
    message: str
    done: int
    total: int
    paper_id: str | None = None


@dataclass
class IngestReport:
    """Outcome of one ingest run, per file and in totals."""

    added: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    paper_ids: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    chunks: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"parse": 0.0, "embed": 0.0, "store": 0.0, "graph": 0.0})
    wall_seconds: float = 0.0
    ocr_pages: int = 0  # pages read by OCR (no usable text layer)
    ocr_seconds: float = 0.0

    def to_json(self, name: Callable[[str], str] = str) -> dict[str, Any]:
        """The report as `scholargraph ingest --json` prints it and POST /ingest answers it;
        ``name`` shows each file (the service: the uploaded file's name, not its stored path)."""
        return {
            "added": [name(p) for p in self.added],
            "copied": [name(p) for p in self.copied],
            "skipped": [name(p) for p in self.skipped],
            "failed": [{"file": name(p), "error": e} for p, e in self.failed],
            "paper_ids": {name(p): pid for p, pid in self.paper_ids.items()},
            "pages": self.pages,
            "chunks": self.chunks,
            "seconds": round(self.wall_seconds, 3),
            "stage_seconds": {stage: round(s, 3) for stage, s in self.seconds.items()},
        }

    def summary(self) -> str:
        parts = [f"added {len(self.added)}"]
        if self.copied:
            parts.append(f"copied {len(self.copied)} from other knowledge bases without re-embedding")
        parts.append(f"skipped {len(self.skipped)} already ingested")
        parts.append(f"failed {len(self.failed)}")
        return ", ".join(parts)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Supported files under the given files and folders (recursive), plus what was refused.

    Paths stay as the user gave them (made absolute, symlinks kept), so reports use their names.
    """
    found: list[Path] = []
    refused: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                    if child.suffix.lower() in SUPPORTED_SUFFIXES:
                        found.append(Path(os.path.abspath(child)))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(os.path.abspath(path)))
            else:
                refused.append((str(path), f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                                f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"))
        else:
            refused.append((str(path), f"{path.name}: no such file or folder"))
    return found, refused


def _parse_job(
    path: str, settings: ParsingSettings, digest: str | None = None
) -> tuple[Paper | None, str | None, float, ParseStats | None]:
    """Runs in the parse thread or a worker process; never raises, so one bad file cannot stop the rest."""
    from scholargraph.parsing import parse_file_with_stats

    start = time.perf_counter()
    try:
        paper, stats = parse_file_with_stats(path, settings, digest)
        return paper, None, time.perf_counter() - start, stats
    except ParseError as exc:
        return None, str(exc), time.perf_counter() - start, None
    except Exception as exc:  # a parser bug must still name the file
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return None, f"{Path(path).name}: cannot parse ({type(exc).__name__}: {reason})", time.perf_counter() - start, None


def _parse_in_thread(items: list[tuple[Path, str]], settings: ParsingSettings, ahead: int = 2,
                     on_page: Callable[[str, str], None] | None = None):
    """Parse files in a background thread, at most ``ahead`` finished papers waiting to be embedded;
    ``on_page(path, line)`` hears progress inside a long PDF (every 100 pages, every OCR page)."""
    results: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def work() -> None:
        for path, digest in items:
            if stop.is_set():
                return
            with page_progress((lambda line, p=str(path): on_page(p, line)) if on_page else None):
                result = (path, *_parse_job(str(path), settings, digest))
            while not stop.is_set():
                try:
                    results.put(result, timeout=0.2)
                    break
                except queue.Full:
                    continue

    thread = threading.Thread(target=work, name="scholargraph-parse", daemon=True)
    thread.start()
    try:
        for _ in items:
            yield results.get()
    finally:
        stop.set()  # the thread ends after the file it is on


class FileProgress:
    """Counts the files an ingest has finished and tells ``progress`` of each (local and Ray alike)."""

    def __init__(self, progress: Callable[[IngestEvent], None] | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def __call__(self, path: str, status: str, message: str, paper_id: str | None = None) -> None:
        self.done += 1
        if self.progress:
            self.progress(IngestEvent(path, status, message, self.done, self.total, paper_id))


class Ingestor:
    """Turns files into stored papers for one library (embedder + vector store + graph)."""

    def __init__(self, library) -> None:  # library: scholargraph.library.Library (avoid import cycle)
        self.library = library
        self.settings = library.settings

    def run(
        self,
        paths: Iterable[str | Path],
        scope: str = "default",
        progress: Callable[[IngestEvent], None] | None = None,
        sources: dict[str, str] | None = None,
    ) -> IngestReport:
        """Ingest files and folders into a scope; ``sources`` may rename a path's shown source."""
        started = time.perf_counter()
        report = IngestReport()
        files, refused = discover(paths)
        emit = FileProgress(progress, len(files) + len(refused))

        for path, reason in refused:
            report.failed.append((path, reason))
            emit(path, "failed", reason)

        to_parse: list[tuple[Path, str]] = []
        seen_hashes: set[str] = set()
        pending_sources: list[tuple[str, str]] = []  # duplicates within this run: recorded once stored
        for path in files:
            try:
                digest = content_hash(path)
            except OSError as exc:
                report.failed.append((str(path), f"{path.name}: cannot read ({exc.strerror or exc})"))
                emit(str(path), "failed", report.failed[-1][1])
                continue
            pid = paper_id_for(digest)
            report.paper_ids[str(path)] = pid
            source = (sources or {}).get(str(path), str(path))
            if self.library.graph.in_scope(pid, scope):
                # the same paper from another file: remember that file too, so removing
                # one copy leaves the paper in place while another remains
                self.library.graph.add_source(pid, scope, source)
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: already ingested", pid)
                continue
            if digest in seen_hashes:
                pending_sources.append((pid, source))
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: same content as another file in this ingest", pid)
                continue
            seen_hashes.add(digest)
            if self.library.graph.has_paper(pid):
                try:
                    self._copy_into_scope(pid, scope, source, report)
                    report.copied.append(str(path))
                    emit(str(path), "copied", f"{path.name}: added to '{scope}' (already embedded)", pid)
                except ScholarGraphError as exc:
                    report.failed.append((str(path), f"{path.name}: {exc}"))
                    emit(str(path), "failed", report.failed[-1][1], pid)
                continue
            to_parse.append((path, digest))

        def inside(path: str, line: str) -> None:  # progress within a long file: no file is done yet
            if progress:
                progress(IngestEvent(path, "parsing", line, emit.done, emit.total))

        for path, paper, error, seconds, stats in self._parse_all(to_parse, inside):
            report.seconds["parse"] += seconds
            if stats is not None:
                report.seconds["parse_cpu"] = report.seconds.get("parse_cpu", 0.0) + stats.cpu_seconds
            if error or paper is None:
                report.failed.append((str(path), error or f"{path.name}: no result"))
                emit(str(path), "failed", report.failed[-1][1])
                continue
            if sources and str(path) in sources:
                paper.source = sources[str(path)]
            try:
                n_chunks = self._commit(paper, scope, report)
            except ScholarGraphError as exc:
                report.failed.append((str(path), f"{path.name}: {exc}"))
                emit(str(path), "failed", report.failed[-1][1], paper.id)
                continue
            report.added.append(str(path))
            report.pages += paper.pages
            report.chunks += n_chunks
            ocr = ""
            if stats is not None and stats.ocr_pages:
                report.ocr_pages += len(stats.ocr_pages)
                report.ocr_seconds += stats.ocr_seconds
                ocr = f"; OCR of {len(stats.ocr_pages)} pages, {stats.ocr_seconds / len(stats.ocr_pages):.1f} s a page"
            emit(str(path), "added", f"{path.name}: {paper.title} ({n_chunks} chunks{ocr})", paper.id)
        for pid, source in pending_sources:
            if self.library.graph.in_scope(pid, scope):  # not when its first copy failed
                self.library.graph.add_source(pid, scope, source)
        report.wall_seconds = time.perf_counter() - started
        return report

    # -- stages ---------------------------------------------------------------------------
    def _parse_all(self, items: list[tuple[Path, str]], on_page: Callable[[str, str], None] | None = None):
        """Yield (path, paper, error, seconds, stats) as parsing finishes, while the caller embeds.

        ``parsing.workers`` 0: one parse thread in this process, a file or two ahead of the
        embedder (pdfium and numpy release the GIL, so both cores work). N > 0: N warm worker
        processes, e.g. to keep unstructured/spaCy (docx, html, OCR) out of a long-lived process.
        """
        settings = self.settings.parsing
        if not items:
            return
        if settings.workers <= 0:
            yield from _parse_in_thread(items, settings, on_page=on_page)
            return
        from scholargraph.parsing.pool import discard_shared_pool, shared_pool

        pool = shared_pool(settings.workers)
        futures = {pool.submit(_parse_job, str(p), settings, digest): p for p, digest in items}
        try:
            for future in cf.as_completed(futures):
                path = futures[future]
                try:
                    yield (path, *future.result())
                except Exception as exc:  # a crashed worker (e.g. killed for memory)
                    discard_shared_pool()
                    yield path, None, f"{path.name}: parser process failed ({type(exc).__name__}: {exc})", 0.0, None
        finally:
            for future in futures:
                future.cancel()

    def add_parsed(self, papers: list[Paper], scope: str = "default") -> IngestReport:
        """Store papers that are already parsed (documents from a data set, an external loader),
        embedding all their chunks in one batch; each paper still commits on its own."""
        report = IngestReport()
        chunked = [(p, chunk_paper(p, self.settings.chunking)) for p in papers if not self.library.graph.in_scope(p.id, scope)]
        t0 = time.perf_counter()
        texts = [embedding_text(p.title, c) for p, chunks in chunked for c in chunks]
        vectors = self.library.embedder.embed_documents(texts)
        report.seconds["embed"] += time.perf_counter() - t0
        offset = 0
        for paper, chunks in chunked:
            own = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            try:
                report.chunks += self._commit(paper, scope, report, chunks, own)
                report.added.append(paper.source)
                report.paper_ids[paper.source] = paper.id
            except ScholarGraphError as exc:
                report.failed.append((paper.source, str(exc)))
        return report

    def _commit(
        self,
        paper: Paper,
        scope: str,
        report: IngestReport,
        chunks: list[Chunk] | None = None,
        vectors: np.ndarray | None = None,
    ) -> int:
        """Embed (unless given vectors) and store one paper, all or nothing."""
        lib = self.library
        if chunks is None:
            chunks = chunk_paper(paper, self.settings.chunking)
        if not chunks:
            raise ParseError(paper.source, "no text to index")
        t0 = time.perf_counter()
        if vectors is None:
            vectors = lib.embedder.embed_documents([embedding_text(paper.title, c) for c in chunks])
        paper_vector = self._paper_vector(paper, chunks, vectors)
        t1 = time.perf_counter()
        report.seconds["embed"] += t1 - t0
        written: list[str] = []
        try:
            written = lib.store.upsert_chunks(scope, paper.title, chunks, vectors)
            lib.store.upsert_paper_vector(paper.id, paper.title, paper_vector)
            similar = self._similar(paper.id, paper_vector)
            t2 = time.perf_counter()
            report.seconds["store"] += t2 - t1
            packed = PackedVectors.from_chunks(lib.store.key, paper_vector, [c.index for c in chunks], vectors)
            lib.graph.add_paper(paper, scope, len(chunks), similar, packed)
            report.seconds["graph"] += time.perf_counter() - t2
        except BaseException:
            self._rollback(paper.id, scope, written)
            raise
        return len(chunks)

    def _rollback(self, paper_id: str, scope: str, written: list[str]) -> None:
        """Undo a half-written paper's vectors; the graph transaction undid itself.

        Chunk ids are the same for every import of one paper into one scope, so when a
        concurrent import committed this paper meanwhile, its vectors are that commit's: keep them.
        """
        lib = self.library
        try:
            if written and not lib.graph.in_scope(paper_id, scope):
                lib.store.delete_chunks(written)
            if not lib.graph.has_paper(paper_id):
                lib.store.delete_paper_vector(paper_id)
        except Exception as exc:  # the graph is the commit record: orphans are invisible to reads
            log.warning("could not undo the half-written vectors of paper %s in %r (%s); the orphan "
                        "sweep (service start, `scholargraph doctor`) removes them later", paper_id, scope, exc)

    def _paper_vector(self, paper: Paper, chunks: list[Chunk], vectors: np.ndarray) -> np.ndarray:
        """Whole paper in one pass when the model's context holds it, else the mean of its chunks."""
        whole = "\n\n".join(p for p in (paper.title, paper.abstract, paper.body_text) if p)
        if count_tokens(whole) <= self.library.embedder.max_input_tokens // 2 or len(chunks) == 1:
            if len(chunks) == 1:
                return vectors[0]
            return self.library.embedder.embed_documents([whole])[0]
        mean = vectors.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    def _similar(self, paper_id: str, vector: np.ndarray) -> list[tuple[str, float]]:
        """Mutual nearest papers above the library's own similarity level (``graph.similar``)."""
        from scholargraph.graph.similar import edges_for_new_paper

        g = self.settings.graph
        return edges_for_new_paper(self.library, paper_id, vector, g.similar_top_k, g.similar_z)

    def _copy_into_scope(self, paper_id: str, scope: str, source: str, report: IngestReport) -> None:
        """A paper already embedded elsewhere joins this scope by copying its vectors."""
        lib = self.library
        existing = lib.store.paper_chunks(paper_id, with_vectors=True)
        if not existing["ids"]:
            raise ScholarGraphError("stored vectors missing; delete and re-ingest it")
        first_scope = existing["metadatas"][0]["scope"]
        rows = [i for i, m in enumerate(existing["metadatas"]) if m["scope"] == first_scope]
        chunks = [
            Chunk(
                id="",
                paper_id=paper_id,
                index=int(existing["metadatas"][i]["index"]),
                text=existing["documents"][i],
                section=existing["metadatas"][i].get("section", ""),
                page_start=existing["metadatas"][i].get("page_start"),
                page_end=existing["metadatas"][i].get("page_end"),
                kind=existing["metadatas"][i].get("kind", "body"),
            )
            for i in rows
        ]
        title = existing["metadatas"][rows[0]].get("title", "")
        written = lib.store.upsert_chunks(scope, title, chunks, existing["embeddings"][rows])
        try:
            lib.graph.add_scope(paper_id, scope, source, len(chunks))
        except BaseException:
            lib.store.delete_chunks(written)
            raise
        report.chunks += len(chunks)
