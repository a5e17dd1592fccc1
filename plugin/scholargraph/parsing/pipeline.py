"""parse_file: a file on disk -> Paper. The order of the stages is the whole design.

1. validate (cheap refusals), 2. extract pieces (unstructured; PDFs: text layer, OCR where
it is missing, pypdf where pdfminer loses spaces), 3. tidy page furniture, 4. front matter
(title, authors, year, DOI, arXiv id), 5. sections and reference list, 6. language.
Top-level and free of global state other than a per-process "spaCy checked" flag, so it
pickles into a ProcessPoolExecutor.
"""

from __future__ import annotations

import re
from pathlib import Path

from scholargraph.errors import ParseError
from scholargraph.ids import content_hash, paper_id_for
from scholargraph.language import detect_language
from scholargraph.models import Paper, Section
from scholargraph.parsing import partition
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import HeadingRules, is_abstract_heading
from scholargraph.parsing.layout import clean_pieces, tidy_pdf
from scholargraph.parsing.metadata import FrontMatter, compact, front_matter
from scholargraph.parsing.pdf import extract_pdf, inspect_pdf
from scholargraph.parsing.pdf_references import best_references, drop_reference_text
from scholargraph.parsing.references import parse_references
from scholargraph.parsing.sections import build_sections
from scholargraph.parsing.text import clean_text
from scholargraph.parsing.validate import check_file
from scholargraph.settings import ParsingSettings

MIN_ABSTRACT_CHARS = 200
_NOT_ABSTRACT = re.compile(r"^(?:CCS Concepts|CCS CONCEPTS|Keywords|KEYWORDS|Additional Key Words|ACM Reference Format|Permission to)")


def parse_file(path: str | Path, settings: ParsingSettings | None = None) -> Paper:
    """Parse a .pdf, .docx, .html/.htm, .md/.markdown or .txt file into a Paper.

    Raises ParseError (naming the file, one-line reason) for anything that is not a
    readable document with text: empty, corrupt, encrypted, mislabelled, unsupported.
    """
    settings = settings or ParsingSettings()
    path = Path(path).expanduser().absolute()
    suffix = check_file(path, settings)
    digest = content_hash(path)
    pdf_title = None
    stamp = None
    header_keys: set[str] = set()
    venue_lines: list[str] = []
    if suffix == ".pdf":
        info = inspect_pdf(path)
        raw = extract_pdf(path, info, settings)
        pages, pdf_title, markup = info.pages, info.title, False
        venue_lines = [clean_text(p.text) for p in raw if p.page == 1 and p.kind in ("Footer", "Header")]
        tidied = tidy_pdf(raw, pages)
        pieces, stamp, header_keys = tidied.pieces, tidied.arxiv_stamp, tidied.header_keys
    else:
        try:
            raw = partition.partition_markup(path, suffix)
        except ParseError:
            raise
        except Exception as exc:
            reason = " ".join(str(exc).split())[:160] or "no detail"
            raise ParseError(path, f"cannot read {suffix} file ({type(exc).__name__}: {reason})") from exc
        pieces = clean_pieces(raw)
        markup = suffix != ".txt"
        pages = max((p.page for p in pieces if p.page), default=1)
    if not any(p.text.strip() for p in pieces):
        raise ParseError(path, "no text found in the document")

    front = front_matter(pieces, path, pdf_title=pdf_title, arxiv_stamp=stamp, markup=markup, extra_lines=venue_lines)
    pieces, skip = _drop_running_titles(pieces, front)
    outline = build_sections(pieces, HeadingRules(trust_markup=markup), skip)
    sections = outline.sections
    if suffix == ".pdf":
        references = []
        for part in outline.reference_lists:
            entries, lines = best_references(path, part, header_keys)
            references.extend(entries)
            sections = drop_reference_text(sections, lines)
    else:
        references = parse_references(outline.reference_pieces)
    if not sections:
        raise ParseError(path, "no body text found (only a title or a reference list)")
    abstract = _abstract(sections, pieces, front)
    body = " ".join(s.text for s in sections)
    return Paper(
        id=paper_id_for(digest),
        content_hash=digest,
        source=str(path),
        title=front.title,
        authors=front.authors,
        year=front.year,
        doi=front.doi,
        arxiv_id=front.arxiv_id,
        language=detect_language(f"{front.title}\n{abstract}\n{body[:6000]}"),
        abstract=abstract,
        sections=sections,
        references=references,
        pages=pages,
    )


def _drop_running_titles(pieces: list[Piece], front: FrontMatter) -> tuple[list[Piece], set[int]]:
    """Remove the paper title where it recurs as a running header on later pages."""
    key = compact(front.title)
    kept: list[Piece] = []
    skip: set[int] = set()
    for i, piece in enumerate(pieces):
        if piece.page and piece.page > 1 and len(key) >= 12 and compact(piece.text) and key.startswith(compact(piece.text)) and len(compact(piece.text)) >= 12:
            continue
        if i in front.consumed or i in front.author_pieces or i in front.venue_pieces:
            skip.add(len(kept))
        kept.append(piece)
    return kept, skip


def _abstract(sections: list[Section], pieces: list[Piece], front: FrontMatter) -> str:
    """The Abstract/摘要 section, else the untitled front-matter prose before the first heading."""
    for section in sections:
        if is_abstract_heading(section.title):
            return section.text
    if sections and sections[0].title == "":
        prose = [b.text for b in sections[0].blocks if not _NOT_ABSTRACT.match(b.text)]
        prose = [t for t in prose if len(t) > 40 and not re.search(r"@|\buniversity\b|\binstitute\b", t, re.IGNORECASE)]
        text = " ".join(prose)
        if len(text) >= MIN_ABSTRACT_CHARS:
            return text[:5000]
    return ""
