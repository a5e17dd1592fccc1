"""Re-extract PDF text that pdfminer reads without spaces.

Some PDFs position every word separately with no space glyphs; pdfminer (under
unstructured's 'fast' strategy) then returns "LONGEVAL:GuidelinesforHumanEvaluation...",
useless for titles, search and references. pypdf reads the same pages with spaces. A page
that is mostly run together is rebuilt from pypdf's lines; a page with a few run-together
stretches ("withPersistentandPersonalizedHistoricalContext") gets just those respaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import FUNCTION_WORDS, looks_like_heading_line

# A page counts as spaceless when this share of its Latin letters sits in 20+ letter runs.
SPACELESS_SHARE = 0.15
_LONG_RUN = re.compile(r"[A-Za-z]{20,}")
_RUN_TOKEN = re.compile(r"\S*[A-Za-z]{20,}\S*")
_URLISH = re.compile(r"https?:|www\.|@|/|\.(?:com|org|io|edu)\b")
_LATIN = re.compile(r"[A-Za-z]")
_SENTENCE_END = re.compile(r"[.!?:)\]]$")


def spaceless_share(text: str) -> float:
    """Share of Latin letters that sit in runs of 20 or more letters (normal prose: ~0)."""
    letters = len(_LATIN.findall(text))
    if letters < 200:
        return 0.0
    return sum(len(run) for run in _LONG_RUN.findall(text)) / letters


def repair_spaceless_pages(path: Path, pieces: list[Piece], page_text: Callable[[int], str] | None = None) -> list[Piece]:
    """Pieces with every spaceless page replaced by paragraphs rebuilt from a spaced reading.

    ``page_text`` gives a page's text from the document already open (pdfium); without it
    the file is read again with pypdf."""
    by_page: dict[int, list[Piece]] = {}
    for piece in pieces:
        by_page.setdefault(piece.page or 0, []).append(piece)
    broken = {
        page: share
        for page, items in by_page.items()
        if page and (share := spaceless_share(" ".join(p.text for p in items))) > SPACELESS_SHARE
    }
    patchy = {
        page for page, items in by_page.items() if page and page not in broken and any(_runs(p.text) for p in items)
    }
    if not broken and not patchy:
        return pieces
    if page_text is None:
        page_text = _pypdf_pages(path)
    replaced: dict[int, list[Piece]] = {}
    for page in sorted(set(broken) | patchy):
        try:
            text = page_text(page) or ""
        except Exception:
            continue
        if page in broken:
            if spaceless_share(text) < broken[page] / 2:
                replaced[page] = pieces_from_lines(text, page)
        else:
            replaced[page] = [respace(p, text) for p in by_page[page]]
    out: list[Piece] = []
    for page in sorted(by_page):
        out.extend(replaced.get(page, by_page[page]))
    return out


def _pypdf_pages(path: Path) -> Callable[[int], str]:
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = pypdf.PdfReader(str(path))
    if reader.is_encrypted:
        reader.decrypt("")
    return lambda page: reader.pages[page - 1].extract_text() or ""


def _runs(text: str) -> list[str]:
    return [t for t in _RUN_TOKEN.findall(text) if not _URLISH.search(t)]


def respace(piece: Piece, page_text: str) -> Piece:
    """The piece with each run-together stretch replaced by pypdf's spaced reading of it."""
    runs = _runs(piece.text)
    if not runs:
        return piece
    positions = [i for i, ch in enumerate(page_text) if not ch.isspace()]
    compact = "".join(page_text[i] for i in positions)
    text = piece.text
    for run in runs:
        at = compact.find(run)
        if at < 0 or compact.find(run, at + 1) >= 0:
            continue
        spaced = " ".join(page_text[positions[at] : positions[at + len(run) - 1] + 1].split())
        if not _LONG_RUN.search(spaced):
            text = text.replace(run, spaced, 1)
    return Piece(piece.kind, text, piece.page)


def pieces_from_lines(text: str, page: int) -> list[Piece]:
    """Paragraphs from plain extracted lines: a short line ending a sentence closes one.

    Before the first heading of page 1 each line stays separate, because that is where
    the title, authors and venue lines sit and they must not run together.
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return []
    widths = sorted(len(line) for line in lines if len(line) > 20) or [60]
    typical = widths[len(widths) // 2]
    pieces: list[Piece] = []
    paragraph: list[str] = []
    front_matter = page == 1

    def flush() -> None:
        if paragraph:
            pieces.append(Piece("NarrativeText", " ".join(paragraph), page))
            paragraph.clear()

    wrapped_heading = False
    for line in lines:
        if wrapped_heading and len(line) <= 60:
            pieces[-1].text = f"{pieces[-1].text} {line}"
            wrapped_heading = False
            continue
        wrapped_heading = False
        if looks_like_heading_line(line):
            flush()
            pieces.append(Piece("Title", line, page))
            front_matter = False
            wrapped_heading = line.split()[-1].lower() in FUNCTION_WORDS
            continue
        if front_matter:
            pieces.append(Piece("UncategorizedText", line, page))
            continue
        paragraph.append(line)
        if _SENTENCE_END.search(line) and len(line) < 0.8 * typical:
            flush()
    flush()
    return pieces
