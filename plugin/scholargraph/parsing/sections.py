"""Group body text under its headings and set the reference list apart.

Everything after a "References" heading is reference material, not body text, until a
heading that plainly starts something else (an appendix, a lettered or numbered section).
Headings wrapped over two elements ("3 DESIGNING AI SUPPORTS FOR" + "EXPOSITORY WRITING")
are joined first. Captions, table text and footnotes (kinds set by ``asides``) become
sections of their own kind after the body, labelled "Figure 2 (caption)", "Table 1 (table)",
"Footnotes (p. 3)", so they never sit inside, or interrupt, a body section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from scholargraph.models import Block, Section
from scholargraph.parsing.asides import ASIDE_PIECE_KINDS, CAPTION_KIND, FOOTNOTE_KIND, caption_label
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import (
    FUNCTION_WORDS,
    WEAK_NAMES,
    HeadingRules,
    is_references_heading,
    normalise_heading,
    numbered_title,
)
from scholargraph.parsing.text import letters_ratio

# Section names too generic to end a reference list: a stray fragment may read like them.
_WEAK_NAMES = WEAK_NAMES | {"abstract"}
_CAPS_HEADING_THEN_WORD = re.compile(r"^(?P<head>.*[A-Z]{2,}) (?P<word>[A-Z][a-z]+)$")


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def _continues_heading(heading: str, nxt: Piece, page: int | None) -> bool:
    """The next element is the wrapped tail of ``heading``."""
    text = nxt.text.strip()
    words = text.split()
    if nxt.page != page or nxt.kind not in ("Title", "UncategorizedText", "NarrativeText") or not words:
        return False
    if len(text) > 60 or len(words) > 6 or text.endswith((".", ",", ";", ":")) or letters_ratio(text) < 0.7:
        return False
    if numbered_title(text) or is_references_heading(text):
        return False
    head_letters, tail_letters = _letters(heading), _letters(text)
    if head_letters.isupper() and tail_letters.isupper() and len(head_letters) > 3:
        return True
    if heading.split()[-1].lower() in FUNCTION_WORDS:
        return True
    return text[0].islower() and len(words) <= 4


def _split_spilled_word(heading: str) -> tuple[str, str]:
    """'7 LIMITATIONS AND FUTURE WORK While' -> ('7 LIMITATIONS AND FUTURE WORK', 'While')."""
    match = _CAPS_HEADING_THEN_WORD.match(heading)
    if match and _letters(match.group("head")).isupper():
        return match.group("head"), match.group("word")
    return heading, ""


def _ends_references(heading: str) -> bool:
    """Whether a heading met inside the reference list starts a new part of the document."""
    if re.search(r"appendix|appendices|supplement", heading, re.IGNORECASE):
        return True
    parsed = numbered_title(heading)
    if parsed:
        return True
    return normalise_heading(heading) not in _WEAK_NAMES


@dataclass
class ReferenceList:
    """The elements of one reference section and where it starts and stops."""

    pieces: list[Piece] = field(default_factory=list)
    heading_page: int | None = None
    end_heading: str | None = None
    end_page: int | None = None


@dataclass
class Outline:
    """A document cut into body sections and reference lists."""

    sections: list[Section]
    reference_lists: list[ReferenceList]

    @property
    def reference_pieces(self) -> list[Piece]:
        return [piece for ref in self.reference_lists for piece in ref.pieces]


def build_sections(pieces: list[Piece], rules: HeadingRules, skip: set[int] | None = None) -> Outline:
    """Sections with their blocks, and the reference lists set apart."""
    skip = skip or set()
    sections = [Section("", [])]
    lists: list[ReferenceList] = []
    current: ReferenceList | None = None
    asides: dict[tuple[str, str], Section] = {}
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        if i in skip:
            i += 1
            continue
        if piece.kind in ASIDE_PIECE_KINDS:  # captions, tables, footnotes: apart, labelled
            kind = ASIDE_PIECE_KINDS[piece.kind]
            title = aside_title(pieces, i)
            asides.setdefault((kind, title), Section(title, [])).blocks.append(Block(piece.text, piece.page, kind))
            i += 1
            continue
        if rules.is_heading(piece.kind, piece.text, piece.page):
            heading, spill = _split_spilled_word(piece.text.strip())
            j = i + 1
            if not rules.trust_markup:
                while j < len(pieces) and j not in skip and _continues_heading(heading, pieces[j], piece.page):
                    heading = f"{heading} {pieces[j].text.strip()}"
                    j += 1
            if is_references_heading(heading):
                current = ReferenceList(heading_page=piece.page)
                lists.append(current)
                rules.after_references = True
            elif current is not None and not _ends_references(heading):
                current.pieces.append(piece)
                j = i + 1
            else:
                if current is not None:
                    current.end_heading, current.end_page = heading, piece.page
                current = None
                sections.append(Section(" ".join(heading.split()), []))
                if spill and j < len(pieces):
                    pieces[j] = replace(pieces[j], text=f"{spill} {pieces[j].text}")
            i = j
            continue
        if current is not None:
            current.pieces.append(piece)
        else:
            sections[-1].blocks.append(Block(piece.text, piece.page))
        i += 1
    body = [s for s in sections if s.blocks]
    if not body:  # a page that is all table (an excerpt): its text is the body
        body = [Section(s.title, [Block(b.text, b.page) for b in s.blocks]) for s in asides.values()]
        return Outline(body, lists)
    return Outline(body + list(asides.values()), lists)


def aside_title(pieces: list[Piece], i: int) -> str:
    """The label of an aside: "Figure 2 (caption)", "Table 1 (table)", "Footnotes (p. 3)".

    Table and figure text is named after the nearest caption on its page.
    """
    piece = pieces[i]
    if piece.kind == CAPTION_KIND:
        return f"{caption_label(piece.text) or 'Caption'} (caption)"
    if piece.kind == FOOTNOTE_KIND:
        return f"Footnotes (p. {piece.page})" if piece.page else "Footnotes"
    near = sorted(
        (abs(j - i), p.text) for j, p in enumerate(pieces) if p.kind == CAPTION_KIND and p.page == piece.page
    )
    label = caption_label(near[0][1]) if near else None
    if label:
        return f"{label} ({'table' if label.startswith('Table') else 'figure text'})"
    return f"Table or figure text (p. {piece.page})" if piece.page else "Table"
