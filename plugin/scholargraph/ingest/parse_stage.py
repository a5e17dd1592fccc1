"""The parse stage of an ingest: files in, parsed papers out, a file or two ahead of the embedder.

By default parsing runs in a thread of this process (a PDF page parses in ~5-15 ms, so
embedding bounds ingest on a CPU and a worker process would only add its imports and memory),
or in ``parsing.workers`` warm worker processes that die with this one. Either way a file that
cannot be parsed becomes an error naming it, never an exception that stops the rest.
"""

from __future__ import annotations

import concurrent.futures as cf
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from scholargraph.errors import ParseError
from scholargraph.models import Paper
from scholargraph.parsing.pdf import page_progress
from scholargraph.parsing.pipeline import ParseStats
from scholargraph.settings import ParsingSettings

# (path, line): a progress line from inside a long file
OnPage = Callable[[str, str], None]


class ParsedFile(NamedTuple):
    """One file's parse: the paper or the error that names the file, and what it cost."""

    path: Path
    paper: Paper | None
    error: str | None
    seconds: float
    stats: ParseStats | None


def parse_job(
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


def parse_in_thread(items: list[tuple[Path, str]], settings: ParsingSettings, ahead: int = 2,
                    on_page: OnPage | None = None) -> Iterator[ParsedFile]:
    """Parse files in a background thread, at most ``ahead`` finished papers waiting to be embedded;
    ``on_page(path, line)`` hears progress inside a long PDF (every 100 pages, every OCR page)."""
    results: queue.Queue[ParsedFile] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def reporter(path: str) -> Callable[[str], None] | None:
        if on_page is None:
            return None
        report = on_page
        return lambda line: report(path, line)

    def work() -> None:
        for path, digest in items:
            if stop.is_set():
                return
            with page_progress(reporter(str(path))):
                result = ParsedFile(path, *parse_job(str(path), settings, digest))
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


def parse_all(items: list[tuple[Path, str]], settings: ParsingSettings,
              on_page: OnPage | None = None) -> Iterator[ParsedFile]:
    """Yield each file's ``ParsedFile`` as parsing finishes, while the caller embeds.

    ``parsing.workers`` 0: one parse thread in this process, a file or two ahead of the
    embedder (pdfium and numpy release the GIL, so both cores work). N > 0: N warm worker
    processes, e.g. to keep unstructured/spaCy (docx, html, OCR) out of a long-lived process.
    """
    if not items:
        return
    if settings.workers <= 0:
        yield from parse_in_thread(items, settings, on_page=on_page)
        return
    from scholargraph.parsing.pool import discard_shared_pool, shared_pool

    pool = shared_pool(settings.workers)
    futures = {pool.submit(parse_job, str(p), settings, digest): p for p, digest in items}
    try:
        for future in cf.as_completed(futures):
            path = futures[future]
            try:
                yield ParsedFile(path, *future.result())
            except Exception as exc:  # a crashed worker (e.g. killed for memory)
                discard_shared_pool()
                yield ParsedFile(path, None, f"{path.name}: parser process failed ({type(exc).__name__}: {exc})", 0.0, None)
    finally:
        for future in futures:
            future.cancel()
