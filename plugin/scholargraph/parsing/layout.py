"""Strip page furniture from extracted PDF elements and put headings on their own.

What goes: footers and headers unstructured recognised, bare page numbers, running
headers that repeat on several pages ("CHI '23, April 23-28, 2023, Hamburg, Germany",
"Chang et al."), and the sideways arXiv stamp, which pdfminer reads as reversed spaced
characters ("1 v 0 3 1 0 0 . 3 0 2 2 : v i X r a"); its id is kept. What is mended: a
section number split from its title ("1" + "Introduction"), and headings run into their
paragraph ("1 INTRODUCTION Science builds on ..."). What is set apart (not deleted): captions,
table and figure text, footnotes (``asides``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from itertools import groupby
from dataclasses import dataclass, field, replace

from scholargraph.graph.keys import ARXIV_LABELLED_ID, ARXIV_STAMP
from scholargraph.parsing.asides import set_apart
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import is_known_section, numbered_title, split_run_in_heading
from scholargraph.parsing.text import clean_text

DROP_KINDS = {"Footer", "Header", "PageNumber", "PageBreak", "Image"}
_SPACED_CHARS = re.compile(r"(?:\S{1,2} )*\S{1,2}")
_BARE_NUMBER = re.compile(r"\d{1,4}|[ivxlc]{1,6}|[IVXLC]{1,6}")
_SECTION_NUMBER = re.compile(r"\d{1,2}(?:\.\d{1,2}){0,3}\.?|[A-H](?:\.\d{1,2}){0,3}")
_ET_AL_HEADER = re.compile(r"[\w .,'’\-]{1,40},? et al\.?")
_NON_LETTERS = re.compile(r"[\W\d_]+")


@dataclass
class Tidied:
    """Cleaned pieces and what was learned while cleaning them."""

    pieces: list[Piece]
    arxiv_stamp: str | None = None
    header_keys: set[str] = field(default_factory=set)  # letters-only keys of running headers


def clean_pieces(pieces: list[Piece]) -> list[Piece]:
    """Repaired text, empty and furniture elements dropped (all formats)."""
    out = []
    for piece in pieces:
        if piece.kind in DROP_KINDS:
            continue
        text = clean_text(piece.text)
        if text:
            out.append(replace(piece, text=text))
    return out


def tidy_pdf(pieces: list[Piece], pages: int) -> Tidied:
    """PDF pieces without furniture, in column order, with section numbers and run-in headings mended."""
    pieces, stamp = _drop_arxiv_stamp(clean_pieces(pieces))
    pieces = column_order(pieces)
    pieces = _attach_section_numbers(pieces)
    keys = running_header_keys(pieces, pages)
    pieces = [p for p in pieces if not is_running_header(p.text, p.page, keys)]
    return Tidied(set_apart(_split_run_in_headings(pieces)), stamp, keys)


def _drop_arxiv_stamp(pieces: list[Piece]) -> tuple[list[Piece], str | None]:
    """Remove the arXiv margin stamp of page 1 (either orientation) and return its id."""
    stamp = None
    hits: set[int] = set()
    for i, piece in enumerate(pieces):
        if piece.page not in (1, None) or i > 40:
            break
        compact = piece.text.replace(" ", "")
        found = ARXIV_LABELLED_ID.search(compact[::-1]) if _SPACED_CHARS.fullmatch(piece.text) else None
        upright = ARXIV_STAMP.search(piece.text)
        match = found or (upright if upright and len(piece.text) < 80 else None)
        if match:
            stamp = stamp or match.group(1)
            hits.add(i)
    if not hits:
        return pieces, None
    # The stamp's other fragments ("2 2 0 2", "b e F 8 2", "]") sit next to the id.
    drop = set(hits)
    for i in sorted(hits):
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(pieces) and pieces[j].page in (1, None) and _SPACED_CHARS.fullmatch(pieces[j].text):
                drop.add(j)
                j += step
    return [p for i, p in enumerate(pieces) if i not in drop], stamp


def column_order(pieces: list[Piece]) -> list[Piece]:
    """Two-column pages (from page 2, where front matter cannot be reshuffled) read as a person
    reads them: between full-width elements, the left column top to bottom, then the right.

    pdfminer sometimes hands over the right column's heading before the left column's text
    (S2ORC p. 3 gave "2.2 Processing LATEX source" before the paragraphs of 2.1), which files
    whole passages under the wrong heading. Pages without boxes, and pages read with pdfium
    (which reports font sizes and keeps the content stream's order, already column by column,
    with formulas and side-by-side cells in the order they were set), are left as they are.
    """
    out: list[Piece] = []
    for _, group in groupby(pieces, key=lambda piece: piece.page):
        page = list(group)
        out.extend(_page_in_column_order(page))
    return out


def _page_in_column_order(page: list[Piece]) -> list[Piece]:
    if not page or (page[0].page or 0) < 2 or any(p.bbox is None or p.font_size is not None for p in page):
        return page  # no boxes, or pdfium's reading (content-stream order, which TeX writes column by column)
    box = {id(p): p.bbox for p in page if p.bbox is not None}  # every piece has one (checked above)
    left = min(b[0] for b in box.values())
    right = max(b[2] for b in box.values())
    width = right - left
    if width < 200:
        return page
    mid, slack = (left + right) / 2, 0.03 * width
    side = {k: "L" if b[2] <= mid + slack else "R" if b[0] >= mid - slack else "F" for k, b in box.items()}
    if sum(v == "L" for v in side.values()) < 2 or sum(v == "R" for v in side.values()) < 2:
        return page  # one column (figures beside the text do not make two)
    full = sorted((p for p in page if side[id(p)] == "F"), key=lambda p: box[id(p)][1])
    tops = [box[id(p)][1] for p in full]
    regions: list[list[Piece]] = [[] for _ in range(len(full) + 1)]
    for piece in page:
        if side[id(piece)] != "F":
            regions[bisect_right(tops, box[id(piece)][1])].append(piece)
    ordered: list[Piece] = []
    for r, region in enumerate(regions):
        for column in ("L", "R"):
            ordered.extend(sorted((p for p in region if side[id(p)] == column), key=lambda p: box[id(p)][1]))
        if r < len(full):
            ordered.append(full[r])
    return ordered


def _attach_section_numbers(pieces: list[Piece]) -> list[Piece]:
    """Join a lone section number to the heading after it; drop other bare numbers (page numbers)."""
    out: list[Piece] = []
    skip_next = False
    for i, piece in enumerate(pieces):
        if skip_next:
            skip_next = False
            continue
        text = piece.text
        nxt = pieces[i + 1] if i + 1 < len(pieces) else None
        if _SECTION_NUMBER.fullmatch(text) and nxt is not None and nxt.page == piece.page:
            joined = f"{text} {nxt.text}"
            if nxt.kind == "Title" and (numbered_title(joined) or is_known_section(nxt.text)):
                out.append(replace(nxt, kind="Title", text=joined))
                skip_next = True
                continue
        if _BARE_NUMBER.fullmatch(text):
            continue
        out.append(piece)
    return out


def _header_key(text: str) -> str:
    return _NON_LETTERS.sub("", text.casefold())


def running_header_keys(pieces: list[Piece], pages: int) -> set[str]:
    """Keys of short lines that recur on several pages: running headers and footers."""
    seen: dict[str, set[int]] = defaultdict(set)
    for piece in pieces:
        if piece.page and len(piece.text) <= 150:
            seen[_header_key(piece.text)].add(piece.page)
    needed = 3 if pages >= 6 else 2
    return {key for key, on in seen.items() if len(key) >= 4 and len(on) >= needed}


def is_running_header(text: str, page: int | None, keys: set[str]) -> bool:
    """A page header/footer line (page 1 keeps its own lines: the title may recur as a header)."""
    if not page or page <= 1:
        return False
    if _ET_AL_HEADER.fullmatch(text) or _BARE_NUMBER.fullmatch(text):
        return True
    return len(text) <= 150 and _header_key(text) in keys and not is_known_section(text)


def _split_run_in_headings(pieces: list[Piece]) -> list[Piece]:
    """'1 INTRODUCTION Science builds ...' -> Title '1 INTRODUCTION' + the paragraph."""
    out: list[Piece] = []
    for piece in pieces:
        split = split_run_in_heading(piece.text) if piece.kind != "ListItem" else None
        if split:
            heading, body = split
            out.append(replace(piece, kind="Title", text=heading))
            out.append(replace(piece, text=body))
        else:
            out.append(piece)
    return out
