"""Captions, table and figure text, and footnotes set apart from a PDF's running text.

A PDF's text layer hands them over in the reading stream: a caption between two paragraphs
of a section, table cells and chart labels as short lines, footnotes at the foot of a column
("9https://github.com/allenai/science-parse 10https://…"). Left there they end up inside
body passages and can push a passage under the wrong heading. Here each such element gets its
own kind — unstructured's ``FigureCaption`` and ``Table``, and ``Footnote`` — so that
``sections`` files it apart, labelled, and nothing is deleted.

The rules read the words first (a caption opens with "Figure 2:" / "Fig. 5." / "Table 1:";
a footnote opens with its mark glued to its text or URL; a table is mostly numbers) and use
how the element is set when the extractor knows it (``Piece.font_size`` and ``bbox``):
table and figure text and footnotes are set smaller than the running text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from scholargraph.parsing.elements import Piece
from scholargraph.parsing.headings import (
    WEAK_NAMES,
    is_known_section,
    is_references_heading,
    normalise_heading,
    numbered_title,
)
from scholargraph.parsing.text import CJK, cjk_share, letters_ratio

CAPTION_KIND = "FigureCaption"
TABLE_KIND = "Table"
FOOTNOTE_KIND = "Footnote"
ASIDE_PIECE_KINDS = {CAPTION_KIND: "caption", TABLE_KIND: "table", FOOTNOTE_KIND: "footnote"}

# "Figure 2:", "Fig. 5.", "Table 1:", "TABLE 3.", "Figure 4 |" (Nature), "图 1：", at the start of an element.
CAPTION_OPENER = re.compile(
    r"(?P<what>Figure|FIGURE|Fig\.|FIG\.|Table|TABLE)\s?(?P<num>\d{1,2}[a-z]?|[IVX]{1,4})\s?[:.|]\s+"
    r"|(?P<zh>[图表])\s?(?P<zhnum>\d{1,2})\s?[：:.．]\s*"  # 图 1：… / 表 2：…
)
# A caption opener inside an element: not a reference from a sentence ("as shown in Figure 3. The ...").
_INNER_CAPTION = re.compile(r"(?<=\S )(?:" + CAPTION_OPENER.pattern + r")(?=[A-Z\[(“\"{CJK}])".replace("{CJK}", CJK))
_REFERENCE_WORDS = {
    "in", "see", "of", "and", "from", "to", "with", "shown", "by", "on", "at", "as", "is", "are", "cf.", "for", "per",
    "into", "under",
}
# A footnote mark glued to its text or URL ("9https://…", "8The papers", "*Work done"), or a URL alone.
_FOOTNOTE_START = re.compile(r"^(?:\d{1,2}\s?(?:https?://|www\.)|\d{1,2}[A-Z][a-z]{2,}|[*∗†‡§¶]\s?[A-Z])")
_FOOTNOTE_MARK = re.compile(r"^(?:\d{1,2}|[*∗†‡§¶])\s?(?:[A-Za-z]|https?://)")
# Inside an element: a footnote glued after a sentence ("… to select 9https://github.com/…").
_INNER_FOOTNOTE = re.compile(r"(?<=[.!?”\"a-z,] )\d{1,2}(?=https?://|www\.)")
_URLISH = re.compile(r"^(?:https?://|www\.|[\w-]+\.(?:com|org|io|net|edu|app)/)\S*$")
_NUMERIC = re.compile(r"^[(\[]?[-+±−]?(?:\d[\d.,]*|\.\d+)[%*†‡]?[)\],;]?$|^[±–—-]$")
_ARXIV_CATEGORIES = re.compile(r"^(?:(?:cs|stat|math|eess|econ|q-bio|q-fin|physics)\.[A-Z]{2}\s*)+$")
_SENTENCE_END = re.compile(r"[.!?;:]$")

SMALLER_BY = 0.8  # points below the running text's size: table cells, chart labels, footnotes
HEADING_SMALLER_BY = 1.5  # points: a "heading" this much smaller than the text is drawn in a figure
SHORT_PIECE = 60  # characters: the broken-off tail of a footnote
CELL_CHARS = 40  # characters: a table cell or chart label


def set_apart(pieces: list[Piece]) -> list[Piece]:
    """Pieces with captions, table/figure text and footnotes given their own kind (and split
    off the running text they were glued to). Front matter before the first heading and the
    reference list are left to their own stages, captions excepted."""
    pieces = _split_glued(pieces)
    body = body_font_size(pieces)
    out: list[Piece] = []
    front = True  # page-1 front matter: title, authors, affiliations
    in_references = False
    for i, piece in enumerate(pieces):
        text = piece.text
        if _is_heading_like(text) and not (not front and _smaller(piece, body, HEADING_SMALLER_BY)):
            front = False
            in_references = is_references_heading(text) or (in_references and not numbered_title(text))
            out.append(piece)
            continue
        kind = piece.kind
        if _is_heading_like(text):  # "INTRODUCTION" printed inside a figure, far smaller than the text
            kind = TABLE_KIND
        elif caption_label(text) and piece.kind != "ListItem":
            kind = CAPTION_KIND
        elif _continues_caption(out, piece):
            kind = CAPTION_KIND
        elif not front and not in_references:
            if _is_numbers(text):
                kind = TABLE_KIND
            elif _is_footnote(piece, body, out):
                kind = FOOTNOTE_KIND
            elif not _continues_sentence(out, piece) and _is_table_text(pieces, i, body):
                kind = TABLE_KIND
        out.append(piece if kind == piece.kind else replace(piece, kind=kind))
    return out


def body_font_size(pieces: list[Piece]) -> float | None:
    """The size most characters are set in, when the extractor reports sizes."""
    sizes: Counter[float] = Counter()
    for piece in pieces:
        if piece.font_size:
            sizes[round(piece.font_size * 2) / 2] += len(piece.text)
    return sizes.most_common(1)[0][0] if sizes else None


def caption_label(text: str) -> str | None:
    """'Figure 2' / 'Table 1' when ``text`` opens with a caption, else None."""
    match = CAPTION_OPENER.match(text)
    if not match:
        return None
    if match.group("zh"):
        return f"{'Table' if match.group('zh') == '表' else 'Figure'} {match.group('zhnum')}"
    what = "Table" if match.group("what").lower().startswith("tab") else "Figure"
    return f"{what} {match.group('num')}"


def _is_heading_like(text: str) -> bool:
    """A heading by its words (generic names such as "Model" or "Results" only when numbered:
    unnumbered they are as often a table's column header)."""
    if len(text) > 120:
        return False
    if numbered_title(text) is not None:
        return True
    return is_known_section(text) and normalise_heading(text) not in WEAK_NAMES


def _split_glued(pieces: list[Piece]) -> list[Piece]:
    """Cut an element where a caption or a footnote starts inside it."""
    out: list[Piece] = []
    for piece in pieces:
        text = piece.text
        cuts = [m.start() for m in _INNER_CAPTION.finditer(text) if _opens_caption(text, m.start())]
        cuts += [m.start() for m in _INNER_FOOTNOTE.finditer(text)]
        start = 0
        for cut in sorted(set(cuts)):
            if text[start:cut].strip():
                out.append(replace(piece, text=text[start:cut].strip()))
                start = cut
        out.append(replace(piece, text=text[start:].strip()) if start else piece)
    return out


def _opens_caption(text: str, at: int) -> bool:
    before = text[:at].split()
    return not before or before[-1].casefold() not in _REFERENCE_WORDS


def _smaller(piece: Piece, body: float | None, by: float = SMALLER_BY) -> bool:
    return bool(body and piece.font_size and piece.font_size <= body - by)


def _continues_caption(out: list[Piece], piece: Piece) -> bool:
    """A caption's second block (a paragraph break inside it), set like the caption, right below."""
    if not out or out[-1].kind != CAPTION_KIND or out[-1].page != piece.page:
        return False
    prev = out[-1]
    if not (prev.font_size and piece.font_size and prev.bbox and piece.bbox):
        return False
    gap = piece.bbox[1] - prev.bbox[3]
    return abs(prev.font_size - piece.font_size) < 0.3 and -1 <= gap <= 1.2 * piece.font_size


def _is_footnote(piece: Piece, body: float | None, out: list[Piece]) -> bool:
    text = piece.text
    if _FOOTNOTE_START.match(text):
        return True
    prev = out[-1] if out else None
    after_footnote = prev is not None and prev.kind == FOOTNOTE_KIND and prev.page == piece.page
    if body is None or piece.font_size is None:
        # Without sizes: the broken-off tail of a footnote ("parse", "github.com/allenai/s2orc").
        return after_footnote and (len(text) <= SHORT_PIECE or bool(_URLISH.match(text)))
    if not _smaller(piece, body) or piece.bbox is None:
        return False
    lower_part = piece.bbox[1] > _page_bottom(piece) * 0.6
    # On page 1 the small print at the foot is a footnote, a licence or a venue line.
    return lower_part and (
        bool(_FOOTNOTE_MARK.match(text)) or after_footnote or bool(_URLISH.match(text)) or piece.page == 1
    )


def _page_bottom(piece: Piece) -> float:
    # Pieces do not carry the page size; US Letter and A4 are 792 and 842 points tall.
    return 842.0 if piece.bbox and piece.bbox[3] > 792 else 792.0


def _numeric_share(text: str) -> tuple[int, float]:
    tokens = text.split()
    numbers = sum(bool(_NUMERIC.match(t)) for t in tokens)
    return numbers, numbers / len(tokens) if tokens else 0.0


def _is_prose(text: str) -> bool:
    """Running sentences (mostly lower-case words), not a row of labels or names."""
    words = [w for w in text.split() if w[0].isalpha()]
    if len(words) < 8 or letters_ratio(text) < 0.7:
        return False
    return sum(w[0].islower() for w in words) >= 0.6 * len(words)


def _is_numbers(text: str) -> bool:
    """Table rows and axis ticks: mostly numbers; or arXiv category labels in a chart."""
    numbers, share = _numeric_share(text)
    return numbers >= 4 and share >= 0.4 or bool(_ARXIV_CATEGORIES.match(text))


def _continues_sentence(out: list[Piece], piece: Piece) -> bool:
    """The rest of a body sentence (a line split off by a superscript or a column break)."""
    prev = out[-1] if out else None
    return (
        prev is not None and prev.kind not in ASIDE_PIECE_KINDS and prev.page == piece.page
        and piece.text[:1].islower() and not _SENTENCE_END.search(prev.text)
    )


def _is_cell(piece: Piece) -> bool:
    """A table cell or chart label read without sizes (not an OCR'd line of running text:
    those are longer, or Chinese)."""
    text = piece.text
    return (
        piece.kind != "ListItem"
        and len(text) <= CELL_CHARS
        and cjk_share(text) < 0.3
        and not _SENTENCE_END.search(text)
        and not _is_heading_like(text)
    )


def _is_table_text(pieces: list[Piece], i: int, body: float | None) -> bool:
    """Table cells, chart labels, code: set small and not prose, or (no sizes) a run of cells."""
    piece = pieces[i]
    text = piece.text
    if piece.kind == "ListItem":
        return False
    if _smaller(piece, body) and not _is_prose(text):
        return True
    if body is not None:
        return False
    # Without sizes: three or more cell-like elements in a row on one page.
    run = 1
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(pieces) and pieces[j].page == piece.page and _is_cell(pieces[j]):
            run += 1
            j += step
    return _is_cell(piece) and run >= 3
