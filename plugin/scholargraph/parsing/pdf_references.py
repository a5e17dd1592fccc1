"""Re-read a PDF's reference list line by line with pypdf.

pdfminer's layout analysis interleaves the two halves of justified reference entries in
some PDFs ("Attention is all In Advances in neural ... you need"), which ruins titles.
pypdf follows the content stream and reads the same entries in order. We parse the
reference pages both ways and keep whichever yields more complete entries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from scholargraph.graph.keys import compact
from scholargraph.models import Reference, Section
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import is_references_heading
from scholargraph.parsing.layout import is_running_header
from scholargraph.parsing.references import parse_references
from scholargraph.parsing.sections import ReferenceList
from scholargraph.parsing.text import clean_text

_WORD = re.compile(r"\w+")
_RUN_IN = re.compile(r"^(?:REFERENCES|References|BIBLIOGRAPHY|Bibliography|参考文献)\s+(?P<rest>\S.*)$")


def reference_lines(
    path: Path, ref: ReferenceList, header_keys: set[str], page_text: Callable[[int], str] | None = None
) -> list[Piece]:
    """Lines of one reference list in content-stream order; [] when its start cannot be found.

    ``page_text`` reads a page from the document already open (pdfium); without it, pypdf
    reads the file again."""
    pages = [p.page for p in ref.pieces if p.page]
    if not pages:
        return []
    first = ref.heading_page or min(pages)
    last = max(pages)
    end_key = compact(ref.end_heading) if ref.end_heading else ""
    try:
        if page_text is None:
            import pypdf

            logging.getLogger("pypdf").setLevel(logging.ERROR)
            reader = pypdf.PdfReader(str(path))
            if reader.is_encrypted:
                reader.decrypt("")
            page_text = lambda page: reader.pages[page - 1].extract_text() or ""  # noqa: E731
        texts = {page: page_text(page) or "" for page in range(first, last + 1)}
    except Exception:
        return []
    lines: list[Piece] = []
    started = False
    for page in range(first, last + 1):
        for raw in texts[page].splitlines():
            line = clean_text(raw)
            if not line:
                continue
            if not started:
                run_in = _RUN_IN.match(line)
                if is_references_heading(line):
                    started = True
                elif run_in and page == first:
                    started, line = True, run_in.group("rest")
                else:
                    continue
                if is_references_heading(line):
                    continue
            if end_key and page == last and len(compact(line)) >= 4 and end_key.startswith(compact(line)):
                return lines
            if not is_running_header(line, page, header_keys):
                lines.append(Piece("Line", line, page))
    return lines if started else []


def _complete_entries(references: list[Reference]) -> int:
    """How many entries parsed into a year and a plausible title."""
    return sum(
        1
        for r in references
        if r.year and r.title and len(r.title) >= 12 and not re.search(r"\bIn (?:Proc|Advances|Findings)", r.title)
    )


def best_references(
    path: Path, ref: ReferenceList, header_keys: set[str], page_text: Callable[[int], str] | None = None
) -> tuple[list[Reference], list[Piece]]:
    """(entries, pypdf lines): entries from the lines or from unstructured's elements, whichever
    parses better; the lines also tell which stray elements were reference text."""
    from_elements = parse_references(ref.pieces)
    lines = reference_lines(path, ref, header_keys, page_text)
    if not lines:
        return from_elements, []
    from_lines = parse_references(lines)
    best = from_lines if _complete_entries(from_lines) >= _complete_entries(from_elements) else from_elements
    return best, lines


def drop_reference_text(sections: list[Section], lines: list[Piece]) -> list[Section]:
    """Remove body blocks that are really reference entries (pdfminer sometimes orders the
    second column of the first reference page before the "References" heading)."""
    if not lines:
        return sections
    pages = {line.page for line in lines}
    joined = " ".join(line.text for line in lines)
    reference_text = compact(joined)
    reference_words = set(_WORD.findall(joined.casefold()))

    def is_reference(text: str) -> bool:
        # Same opening and (nearly) the same words: pdfminer may have shuffled the middle.
        head = compact(text)[:60]
        words = _WORD.findall(text.casefold())
        if len(head) < 30 or head not in reference_text or not words:
            return False
        return sum(w in reference_words for w in words) >= 0.85 * len(words)

    kept = []
    for section in sections:
        blocks = [b for b in section.blocks if not (b.page in pages and is_reference(b.text))]
        if blocks:
            kept.append(Section(section.title, blocks))
    return kept
