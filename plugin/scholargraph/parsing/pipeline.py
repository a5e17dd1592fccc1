"""parse_file: a file on disk -> Paper. The order of the stages is the whole design.

1. validate (cheap refusals), 2. extract pieces (PDFs: one pdfium open for the text layer,
metadata and reference lines, OCR only where text is missing; other formats: unstructured),
3. tidy page furniture, 4. front matter (title, authors, year, DOI, arXiv id), 5. sections and
reference list, 6. language. Top-level and free of global state other than a per-process
"spaCy checked" flag, so it pickles into a ProcessPoolExecutor.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
from scholargraph.parsing.parse_cache import cache_for
from scholargraph.parsing.pdf import read_pdf
from scholargraph.parsing.pdf_references import best_references, drop_reference_text
from scholargraph.parsing.references import parse_references
from scholargraph.parsing.sections import build_sections
from scholargraph.parsing.text import clean_text
from scholargraph.parsing.validate import check_file
from scholargraph.settings import ParsingSettings

log = logging.getLogger(__name__)

MIN_ABSTRACT_CHARS = 200
_NOT_ABSTRACT = re.compile(
    r"^(?:CCS Concepts|CCS CONCEPTS|Keywords|KEYWORDS|Additional Key Words|ACM Reference Format|Permission to)"
)


@dataclass
class _Extracted:
    """Cleaned pieces of one file and what extraction learned on the way."""

    pieces: list[Piece]
    pages: int
    markup: bool  # docx/html/md: headings come from real markup
    pdf_title: str | None = None
    arxiv_stamp: str | None = None
    header_keys: set[str] = field(default_factory=set)
    venue_lines: list[str] = field(default_factory=list)
    page_text: Callable[[int], str] | None = None  # PDFs: a page's plain text from the open document
    ocr_pages: list[int] = field(default_factory=list)
    ocr_seconds: float = 0.0


@dataclass
class ParseStats:
    """Where one file's parse spent its time (what ingest reports and the benchmark splits)."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this thread's CPU (OCR's tesseract processes not included)
    extract_seconds: float = 0.0  # opening the file and reading its elements (OCR included)
    ocr_pages: list[int] = field(default_factory=list)
    ocr_seconds: float = 0.0
    cached: bool = False  # taken from the parse cache: the document loader parsed these bytes


def parse_file(path: str | Path, settings: ParsingSettings | None = None) -> Paper:
    """Parse a .pdf, .docx, .html/.htm, .md/.markdown or .txt file into a Paper.

    Raises ParseError (naming the file, one-line reason) for anything that is not a
    readable document with text: empty, corrupt, encrypted, mislabelled, unsupported.
    """
    return parse_file_with_stats(path, settings)[0]


def parse_and_keep(path: str | Path, settings: ParsingSettings, digest: str | None = None) -> Paper:
    """Parse for a document loader (Open WebUI's ``PUT /process``) and leave the parse in
    ``parsing.cache_dir``, so the ingest of the same bytes takes it instead of parsing again;
    ``digest``: the content hash when the caller already has it (the file is then read once)."""
    paper, stats = parse_file_with_stats(path, settings, digest)
    cache = cache_for(settings)
    if cache is not None:
        try:
            cache.put(paper, stats.ocr_pages, stats.ocr_seconds)
        except OSError as exc:  # the ingest will parse again: slower, not wrong
            log.warning("cannot keep the parse of %s in %s (%s)", Path(path).name, cache.folder, exc)
    return paper


def parse_file_with_stats(
    path: str | Path, settings: ParsingSettings | None = None, digest: str | None = None
) -> tuple[Paper, ParseStats]:
    """``parse_file`` plus where the time went; ``digest``: the content hash when the caller
    already computed it (ingest hashes every file to skip known ones), so it is read once.
    A parse the document loader left for these bytes (``parse_and_keep``) is used instead; it
    stays in the cache until the ingest has committed the paper (``parse_cache.forget_parse``)."""
    started, cpu = time.perf_counter(), time.thread_time()
    settings = settings or ParsingSettings()
    path = Path(path).expanduser().absolute()
    suffix = check_file(path, settings)
    digest = digest or content_hash(path)
    cache = cache_for(settings)
    taken = cache.read(digest) if cache is not None else None
    if taken is not None:  # the document loader's parse of these bytes (Open WebUI upload)
        paper, ocr_pages, ocr_seconds = taken
        paper.origin = str(path)
        log.info("%s: parse taken from the parse cache (%s)", path.name, cache.folder if cache else "")
        return paper, ParseStats(seconds=time.perf_counter() - started, ocr_pages=ocr_pages,
                                 ocr_seconds=ocr_seconds, cached=True)
    doc = _extract_pdf(path, settings) if suffix == ".pdf" else _extract_markup(path, suffix)
    stats = ParseStats(
        extract_seconds=time.perf_counter() - started, ocr_pages=doc.ocr_pages, ocr_seconds=doc.ocr_seconds
    )
    if not any(p.text.strip() for p in doc.pieces):
        raise ParseError(path, "no text found in the document")

    front = front_matter(
        doc.pieces, path, pdf_title=doc.pdf_title, arxiv_stamp=doc.arxiv_stamp, markup=doc.markup,
        extra_lines=doc.venue_lines,
    )
    pieces, skip = _drop_front_and_running_titles(doc.pieces, front)
    outline = build_sections(pieces, HeadingRules(trust_markup=doc.markup), skip)
    sections = outline.sections
    if suffix == ".pdf":
        references = []
        for part in outline.reference_lists:
            entries, lines = best_references(path, part, doc.header_keys, doc.page_text)
            references.extend(entries)
            sections = drop_reference_text(sections, lines)
    else:
        references = parse_references(outline.reference_pieces)
    if not sections:
        raise ParseError(path, "no body text found (only a title or a reference list)")
    abstract = _abstract(sections)
    sections = _name_untitled(sections, abstract)
    body = " ".join(s.text for s in sections)
    paper = Paper(
        id=paper_id_for(digest),
        content_hash=digest,
        origin=str(path),
        title=front.title,
        authors=front.authors,
        year=front.year,
        doi=front.doi,
        arxiv_id=front.arxiv_id,
        language=detect_language(f"{front.title}\n{abstract}\n{body[:6000]}"),
        abstract=abstract,
        sections=sections,
        references=references,
        pages=doc.pages,
    )
    stats.seconds = time.perf_counter() - started
    stats.cpu_seconds = time.thread_time() - cpu
    log.info("%s: parsed, %d pages in %.1f s", path.name, paper.pages, stats.seconds)
    return paper, stats


def _extract_pdf(path: Path, settings: ParsingSettings) -> _Extracted:
    read = read_pdf(path, settings)
    raw = read.pieces
    tidied = tidy_pdf(raw, read.info.pages)
    return _Extracted(
        pieces=tidied.pieces,
        pages=read.info.pages,
        markup=False,
        pdf_title=read.info.title,
        arxiv_stamp=tidied.arxiv_stamp,
        header_keys=tidied.header_keys,
        venue_lines=[clean_text(p.text) for p in raw if p.page == 1 and p.kind in ("Footer", "Header")],
        page_text=read.page_text,
        ocr_pages=read.ocr_pages,
        ocr_seconds=read.ocr_seconds,
    )


def _extract_markup(path: Path, suffix: str) -> _Extracted:
    try:
        raw = partition.partition_markup(path, suffix)
    except ParseError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:160] or "no detail"
        raise ParseError(path, f"cannot read {suffix} file ({type(exc).__name__}: {reason})") from exc
    pieces = clean_pieces(raw)
    pages = max((p.page for p in pieces if p.page), default=1)
    return _Extracted(pieces=pieces, pages=pages, markup=suffix != ".txt")


def _drop_front_and_running_titles(pieces: list[Piece], front: FrontMatter) -> tuple[list[Piece], set[int]]:
    """(pieces without the title repeated as a running header, indices of front-matter pieces to skip)."""
    key = compact(front.title)
    kept: list[Piece] = []
    skip: set[int] = set()
    for i, piece in enumerate(pieces):
        piece_key = compact(piece.text)
        if piece.page and piece.page > 1 and len(piece_key) >= 12 and key.startswith(piece_key):
            continue
        if i in front.consumed or i in front.author_pieces or i in front.venue_pieces:
            skip.add(len(kept))
        kept.append(piece)
    return kept, skip


def _name_untitled(sections: list[Section], abstract: str) -> list[Section]:
    """The text before the first heading gets a name, so every passage cites a section: "Abstract"
    when it is the abstract, "Text" when the document has no headings at all, else "Front matter"."""
    if not sections or sections[0].title:
        return sections
    first = sections[0]
    if abstract and abstract[:80] in first.text:
        name = "Abstract"
    elif all(not section.title for section in sections):
        name = "Text"
    else:
        name = "Front matter"
    return [replace(first, title=name), *sections[1:]]


def _abstract(sections: list[Section]) -> str:
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
