"""Bibliographic metadata from the front of a document: title, authors, year, DOI, arXiv id.

The title is what page 1 prints. The PDF's /Title entry is used when page 1 really
contains it (it is exact, but often empty or "Microsoft Word - draft3.docx"); otherwise the
first title-shaped element, skipping proceedings headers, arXiv stamps, venue and licence
lines, e-mails and fragments, and joining a title broken over two elements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from scholargraph.parsing import authors as author_rules
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import FUNCTION_WORDS, is_abstract_heading, is_known_section, numbered_title
from scholargraph.graph.keys import ARXIV_FILENAME, arxiv_year, compact, find_arxiv_id, find_doi
from scholargraph.parsing.text import (
    CJK,
    fix_small_caps,
    letters_ratio,
    years_in,
)

MIN_TITLE_CHARS = 8
MAX_TITLE_CHARS = 250
FRONT_PIECES = 25  # how far into page 1 the title and author block may sit

_NOT_A_TITLE = re.compile(
    r"proceedings|\bconference on\b|\bworkshop on\b|\bjournal of\b|\bvol\.\s*\d|\bpp\.\s*\d|preprint|"
    r"under review|copyright|©|\(c\)\s*\d{4}|arxiv|doi\b|doi\.org|https?://|www\.|@|\blicen[cs]|permission to|"
    r"\baccepted\b|\bpublished\b|\bsubmitted\b|\buniversit|\binstitut|\bdepartment\b|\bschool of\b|"
    r"\blaborator|corresponding|association for computational|\bisbn\b|\bissn\b|\bkeywords?\b|\bet al\b|"
    r"^abstract\b|^table \d|^figure \d|^fig\. \d|microsoft word|untitled|\.(?:dvi|tex|docx?|pdf)$|^title$",
    re.IGNORECASE,
)
# Lines that date the paper: anywhere on page 1 (strong), or up front / in page furniture (weak).
_VENUE_STRONG = re.compile(
    r"©|copyright|\(c\)\s*\d{4}|acm reference format|proceedings ?of ?the|published (?:in|at)|accepted (?:at|to|in)",
    re.IGNORECASE,
)
_VENUE_WEAK = re.compile(r"proceedings|conference|workshop|symposium|journal|transactions|\bvol\.", re.IGNORECASE)
_BOILERPLATE = re.compile(
    r"^(?:proceedings|preprint|under review|permission to make|copyright|©)|proceedingsofthe|\barxiv:\d|"
    r"association for computational linguistics\s*\d*$|licensed under|creative commons",
    re.IGNORECASE,
)
_MARKERS = re.compile(r"[†‡§¶∗*♠♢♡♣♦□⋄]|\w[α-ω]\b")
@dataclass
class FrontMatter:
    """What the front of a document says about it; ``consumed`` are pieces used up as title."""

    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    consumed: set[int] = field(default_factory=set)
    author_pieces: set[int] = field(default_factory=set)
    venue_pieces: set[int] = field(default_factory=set)  # proceedings/licence/preprint lines up front


def title_candidate(text: str) -> bool:
    """Shaped like a paper title: a phrase of sensible length, no venue/licence/e-mail markers."""
    text = text.strip()
    cjk = len(re.findall(f"[{CJK}]", text))
    if cjk >= 4:
        return len(text) <= 80 and not is_known_section(text) and not re.search("[。；]", text)
    if not MIN_TITLE_CHARS <= len(text) <= MAX_TITLE_CHARS or len(text.split()) < 2:
        return False
    if _NOT_A_TITLE.search(text) or letters_ratio(text) < 0.7 or text.endswith((".", ",", ";")):
        return False
    if is_known_section(text) or numbered_title(text):
        return False
    tokens = text.split()
    if sum(len(t) <= 2 for t in tokens) > 0.6 * len(tokens):
        return False
    # "NER REL CLS" (table headers) is not a title; "BERT: Pre-training of ..." is.
    return any(len(t) >= 4 and not t.isupper() for t in tokens)


def _continues_title(title: str, nxt: Piece) -> bool:
    """Whether the next element is the second line of a title rather than the author line."""
    text = nxt.text.strip()
    if not title_candidate(text) or _MARKERS.search(text) or "," in text or len(text.split()) > 14:
        return False
    last = title.split()[-1].lower() if title.split() else ""
    if last in FUNCTION_WORDS or title.endswith((":", "-", "–")):
        return True
    if text[0].islower():
        return True
    lowercase_words = [w for w in text.split() if w.islower() and w not in ("and",)]
    return bool(lowercase_words) and len(title) + len(text) <= MAX_TITLE_CHARS


# Pieces after the title that may hold names and affiliations (pdfium reads each name of a
# row of authors, and each e-mail and affiliation line under it, as its own piece).
AUTHOR_PIECES = 16
_NOT_ABSTRACT_START = re.compile(r"(?:CCS Concepts|CCS CONCEPTS|Keywords|KEYWORDS|Additional Key Words|ACM Reference Format)\b")


def find_title(pieces: list[Piece], pdf_title: str | None, stem: str, markup: bool) -> tuple[str, set[int]]:
    """(title, indices of the pieces it came from); falls back to /Title, then the file stem.

    A PDF title must be followed by front matter (author names, e-mails, an abstract), which
    keeps a table header on a title-less page from being taken for one. A piece that starts
    with the title and runs on into the authors is cut down to the authors (in place).
    """
    front = [(i, p) for i, p in enumerate(pieces[:FRONT_PIECES]) if p.page in (1, None)]
    page_text = compact(" ".join(p.text for _, p in front))
    if pdf_title and title_candidate(pdf_title) and len(compact(pdf_title)) >= 8 and compact(pdf_title) in page_text:
        key = compact(pdf_title)
        used = set()
        for i, piece in front:
            piece_key = compact(piece.text)
            if piece_key and piece_key in key:
                used.add(i)
            elif piece_key.startswith(key):
                piece.text = _after_prefix(piece.text, len(key))
        return _tidy_title(pdf_title), used
    kinds = ("Title",) if markup else ("Title", "UncategorizedText", "NarrativeText")
    body = _body_size(pieces)
    for preferred in (("Title",), kinds):
        for pos, (i, piece) in enumerate(front):
            if piece.kind not in preferred or not title_candidate(piece.text):
                continue
            if body and piece.font_size and piece.font_size < body + 0.9:
                continue  # a title is set larger than the body (known for PDFs read with pdfium)
            title, used = piece.text.strip(), {i}
            if pos + 1 < len(front) and _continues_title(title, front[pos + 1][1]):
                title = f"{title} {front[pos + 1][1].text.strip()}"
                used.add(front[pos + 1][0])
            if markup or _front_matter_follows([p for _, p in front[pos + len(used):pos + len(used) + 8]]):
                return _tidy_title(title), used
    if pdf_title and title_candidate(pdf_title):
        return _tidy_title(pdf_title), set()
    return stem, set()


def _body_size(pieces: list[Piece]) -> float | None:
    """The font size most of the document's text is set in, when the reader knew sizes."""
    sizes: dict[float, int] = {}
    for piece in pieces:
        if piece.font_size:
            key = round(piece.font_size * 2) / 2
            sizes[key] = sizes.get(key, 0) + len(piece.text)
    return max(sizes, key=sizes.__getitem__) if sizes else None


def _after_prefix(text: str, compact_len: int) -> str:
    """``text`` without its first ``compact_len`` letters and digits (and what sits between them)."""
    seen = 0
    for pos, ch in enumerate(text):
        if compact(ch):
            seen += 1
            if seen == compact_len:
                return text[pos + 1 :].strip()
    return ""


def _front_matter_follows(following: list[Piece]) -> bool:
    """Author names, an e-mail or an abstract right after a title candidate."""
    for piece in following:
        if "@" in piece.text or is_abstract_heading(piece.text) or re.match(r"abstract\b", piece.text, re.IGNORECASE):
            return True
        if author_rules.authors_from_lines([piece.text]):
            return True
    return False


def _tidy_title(title: str) -> str:
    title = fix_small_caps(" ".join(title.split()))
    return title.strip(" .,;:").replace(" :", ":")


def front_matter(
    pieces: list[Piece],
    path: Path,
    pdf_title: str | None = None,
    arxiv_stamp: str | None = None,
    markup: bool = False,
    extra_lines: list[str] | None = None,
) -> FrontMatter:
    """Title, authors, year, DOI and arXiv id from the pieces before the first section.

    ``extra_lines``: page-1 headers and footers, dropped from the body but telling the venue.
    """
    extra_lines = extra_lines or []
    title, consumed = find_title(pieces, pdf_title, path.stem, markup)
    end = _front_end(pieces)
    after_title = max(consumed) + 1 if consumed else 0
    author_block: set[int] = set()
    for i in range(after_title, min(end, after_title + AUTHOR_PIECES)):
        piece = pieces[i]
        if piece.page not in (1, None) or piece.kind == "ListItem" or _is_prose(piece.text):
            break
        if is_known_section(piece.text) or _NOT_ABSTRACT_START.match(piece.text):
            break  # "CCS Concepts", "Keywords": the front matter's names are behind us
        author_block.add(i)
    if markup:
        front_text = " ".join(p.text for p in pieces[:end])
    else:
        front_text = " ".join(p.text for p in pieces if p.page in (1, None))[:20000]
    names = author_rules.authors_from_acm_format(front_text) or author_rules.authors_from_lines(
        [pieces[i].text for i in sorted(author_block)]
    )
    stamp_or_name = arxiv_stamp or _arxiv_from_name(path)
    return FrontMatter(
        title=title,
        authors=names,
        year=_year(pieces, end, stamp_or_name, extra_lines),
        doi=find_doi(" ".join([front_text, *extra_lines])),
        arxiv_id=stamp_or_name or find_arxiv_id(" ".join(p.text for p in pieces[: max(end, after_title)])),
        consumed=consumed,
        author_pieces={i for i in author_block if _names_or_affiliations(pieces[i].text)} if names else set(),
        venue_pieces={
            i
            for i, p in enumerate(pieces[:end])
            if p.page in (1, None) and len(p.text) < 600 and _BOILERPLATE.search(p.text)
        },
    )


def _is_prose(text: str) -> bool:
    """A paragraph of running text (the abstract), as opposed to name and affiliation lines."""
    words = text.split()
    if len(text) <= 150 or "@" in text or not words:
        return False
    return sum(w[0].islower() for w in words) >= 0.4 * len(words)


def _front_end(pieces: list[Piece]) -> int:
    """Index of the abstract or first section heading: the front matter ends there."""
    for i, piece in enumerate(pieces[:80]):
        if is_abstract_heading(piece.text) or (piece.kind == "Title" and is_known_section(piece.text)):
            return i
        if piece.kind == "Title" and numbered_title(piece.text):
            return i
    return min(len(pieces), FRONT_PIECES)


def _names_or_affiliations(text: str) -> bool:
    """Author-block lines that are metadata, not content: names, e-mails, institutions."""
    return bool(author_rules.authors_from_lines([text])) or bool(
        re.search(r"@|universit|institut|college|school|laborator|\bdept\b|大学|学院|研究", text, re.IGNORECASE)
    )


def _arxiv_from_name(path: Path) -> str | None:
    match = ARXIV_FILENAME.match(path.name)
    return match.group(1) if match else None


def _year(pieces: list[Piece], end: int, arxiv_id: str | None, extra_lines: list[str]) -> int | None:
    """Venue/copyright line on page 1, else the arXiv id's YYMM, else the first year up front."""
    venue_lines = [t for t in extra_lines if _VENUE_STRONG.search(t) or _VENUE_WEAK.search(t)]
    venue_lines += [p.text for p in pieces[:end] if _VENUE_WEAK.search(p.text)]
    venue_lines += [p.text for p in pieces if p.page == 1 and _VENUE_STRONG.search(p.text)]
    for text in venue_lines:
        found = years_in(text) if len(text) < 600 else []
        if found:
            return found[0]
    from_id = arxiv_year(arxiv_id)
    if from_id is not None:
        return from_id
    for piece in pieces[:end]:
        found = years_in(piece.text)
        if found:
            return found[0]
    return None
