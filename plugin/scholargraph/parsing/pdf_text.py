"""A PDF's text layer as elements, read with pdfium: lines with their font, then blocks, then kinds.

unstructured's ``fast`` strategy costs ~0.2-0.4 s a page: pdfminer's layout analysis plus a spaCy
pass over every element to guess Title vs NarrativeText from the words alone. pdfium reads a page
with its fonts and positions in ~6-20 ms, in content-stream order (the order TeX wrote the columns,
which is also the order the reference re-reading relied on). What the words had to guess, the
page says directly: a heading is set larger or bolder than the body, a paragraph ends on a short
line, a bullet opens a list item, a page number sits alone in the margin.

The kinds are unstructured's categories (Title, NarrativeText, ListItem, UncategorizedText,
PageNumber), so every later stage reads these elements exactly as it read unstructured's.
pdfium is not thread-safe: one document is read by one thread; parallelism is by process.
"""

from __future__ import annotations

import ctypes
import re
from collections import Counter
from dataclasses import dataclass, field

from scholargraph.parsing.elements import Piece
from scholargraph.parsing.text import CJK

# pdfium marks a hyphen that ends a line (where TeX broke a word) as U+FFFE; U+0002 in some fonts.
_SOFT_HYPHENS = ("\ufffe", "\u0002")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]")
# pdfium breaks lines with "\r\n" but runs a hyphenated line straight into the next one.
_LINE_BREAK = re.compile(r"\r\n|\r|\n|(?<=[\ufffe\u0002])")
_BULLET = re.compile(r"^[•·◦▪‣∙●○■□➢➤✓✔◆◇►▶]\s*")
_BARE_NUMBER = re.compile(r"\d{1,4}|[ivxlc]{1,6}|[IVXLC]{1,6}")
_SENTENCE_END = re.compile(r"[.!?:;。！？；]$")
_MARKS_ONLY = re.compile(r"[^\w]*|[\u00b9\u00b2\u00b3\u2070-\u2079\W]*")
_CJK = re.compile(f"[{CJK}\u3000-\u303f\uff00-\uffef]")
_ABSTRACT = re.compile(r"(?:abstract|a b s t r a c t|摘\s*要)\b", re.IGNORECASE)
_ACCENTS = "¨´`˘ˇ˜˚"
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|medi|[-.,]b$|-bd|bx", re.IGNORECASE)

# A block is heading-sized when its font is at least this much larger than the body's.
HEADING_SIZE_STEP = 0.9  # points
MAX_HEADING_LINES = 3
MAX_HEADING_CHARS = 250
MARGIN_SHARE = 0.08  # top and bottom 8 % of the page: page numbers live there


@dataclass
class Line:
    """One line of text as pdfium lays it out (y grows upwards, PDF points)."""

    text: str
    x0: float
    x1: float
    baseline: float
    top: float  # top of the line's characters
    bottom: float  # bottom of the line's characters
    size: float
    bold: bool  # every sampled character bold
    rotated: bool
    regular: bool = True  # no sampled character bold


@dataclass
class PageText:
    """One page: its lines in reading order and its size."""

    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Plain text, one line per line (what the reference and repair stages re-read); a word
        TeX broke at a line end keeps its hyphen there, as other extractors print it."""
        return "\n".join(
            line.text[:-1] + "-" if line.text.endswith(_SOFT_HYPHENS) else line.text for line in self.lines
        )


def read_page(document, index: int) -> PageText:
    """Lines of page ``index`` (0-based) of an open ``pypdfium2.PdfDocument``."""
    import pypdfium2.raw as raw

    page = document[index]
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        # Page 1 sets names and affiliations side by side with wide gaps; pdfium reads them as
        # one line, pdfminer as separate boxes. Splitting there keeps "Nathan Dahlberg" apart
        # from "Margo Schlanger" on the next line.
        lines = _lines(textpage, raw, split_gaps=index == 0)
    finally:
        textpage.close()
        page.close()
    return PageText(index + 1, width, height, lines)


def _lines(textpage, raw, split_gaps: bool = False) -> list[Line]:
    handle = textpage.raw
    count = textpage.count_chars()
    if count <= 0:
        return []
    text = textpage.get_text_range()
    direct = len(text) == count
    name = ctypes.create_string_buffer(96)
    flags = ctypes.c_int()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    matrix = raw.FS_MATRIX()
    weights: dict[tuple[str, int], bool] = {}

    def char_index(text_index: int) -> int:
        return text_index if direct else raw.FPDFText_GetCharIndexFromTextIndex(handle, text_index)

    def box(i: int) -> tuple[float, float, float, float]:
        raw.FPDFText_GetCharBox(handle, i, left, right, bottom, top)
        return left.value, right.value, bottom.value, top.value

    def size_of(i: int) -> float:
        # The font's nominal size times the text matrix's scale: some producers set 1 pt fonts
        # and scale them (SciBERT's table page), so the nominal size alone says nothing.
        size = raw.FPDFText_GetFontSize(handle, i)
        if raw.FPDFText_GetMatrix(handle, i, ctypes.byref(matrix)):
            size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
        return size

    def is_bold(i: int) -> bool:
        weight = raw.FPDFText_GetFontWeight(handle, i)
        raw.FPDFText_GetFontInfo(handle, i, name, 96, ctypes.byref(flags))
        key = (name.value.decode("latin-1", "replace"), weight)
        if key not in weights:
            weights[key] = weight >= 600 or bool(_BOLD_NAME.search(key[0].split("+")[-1]))
        return weights[key]

    segments: list[tuple[int, str]] = []  # (text index of the first character, text)
    start = 0
    for match in [*_LINE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        segment, seg_start = text[start:end], start
        start = match.end() if match else len(text)
        stripped = segment.strip()
        if stripped:
            segments.append((seg_start + len(segment) - len(segment.lstrip()), stripped))
    if split_gaps:  # the front matter only: above the abstract, names and affiliations
        front = next((n for n, (_, t) in enumerate(segments) if _ABSTRACT.match(t)), len(segments))
        segments = [
            part for segment in segments[:front] for part in _split_at_gaps(segment, char_index, box, size_of)
        ] + segments[front:]

    lines: list[Line] = []
    for first_t, stripped in segments:
        text_of_line = _place_accents(first_t, stripped, char_index, box)
        last_t = first_t + max(len(stripped.rstrip("".join(_SOFT_HYPHENS))), 1) - 1
        letters = [k for k, ch in enumerate(stripped) if ch.isalnum()]
        samples = [letters[0], letters[len(letters) // 2], letters[-1]] if letters else [0]
        sample_chars = [char_index(first_t + k) for k in samples]
        sizes = sorted(size_of(i) for i in sample_chars)
        bolds = [is_bold(i) for i in sample_chars]
        first_c, last_c = char_index(first_t), char_index(last_t)
        x0, _, b0, t0 = box(first_c)
        _, x1, b1, t1 = box(last_c)
        mid = sample_chars[len(sample_chars) // 2]
        raw.FPDFText_GetCharOrigin(handle, mid, ox, oy)
        mid_box = box(mid)
        angle = raw.FPDFText_GetCharAngle(handle, mid)
        lines.append(
            Line(
                text=text_of_line,
                x0=min(x0, x1),
                x1=max(x0, x1, mid_box[1]),
                baseline=oy.value,
                top=max(t0, t1, mid_box[3]),
                bottom=min(b0, b1, mid_box[2]),
                size=round(sizes[len(sizes) // 2], 1),
                bold=all(bolds),
                regular=not any(bolds),
                rotated=0.05 < angle < 6.23,
            )
        )
    return _merge_same_line(lines)


def _place_accents(first_t: int, text: str, char_index, box) -> str:
    """Spacing accents put back before the letter they are drawn over.

    TeX draws "Färber" as "F", "a", "rber" and a separate "¨" over the "a"; pdfium emits the
    accent after the word ("Farber ¨ (2019)"). Placed before its letter, the text repair
    (``text.clean_text``) composes "Färber"."""
    if not any(ch in _ACCENTS for ch in text):
        return text
    letters = [(k, box(char_index(first_t + k))) for k, ch in enumerate(text) if ch.isalpha()]
    before: dict[int, str] = {}  # letter position -> accent drawn over it
    moved: set[int] = set()
    for k, ch in enumerate(text):
        if ch not in _ACCENTS:
            continue
        left, right, _, _ = box(char_index(first_t + k))
        centre = (left + right) / 2
        over = [j for j, (l, r, _, _) in letters if l - 0.3 <= centre <= r + 0.3 and j not in before]
        if over and over[0] != k + 1:
            before[over[0]] = ch
            moved.add(k)
    if not moved:
        return text
    dropped = set(moved)
    for k in moved:  # the spaces pdfium put around the stray accent: one stays only if the words are apart
        a, b = k - 1, k + 1
        while a >= 0 and text[a] == " ":
            a -= 1
        while b < len(text) and text[b] == " ":
            b += 1
        spaces = [i for i in range(a + 1, b) if i != k]
        if not spaces or a < 0 or b >= len(text):
            dropped.update(spaces)
            continue
        gap = box(char_index(first_t + b))[0] - box(char_index(first_t + a))[1]
        dropped.update(spaces if gap < 1.0 else spaces[1:])
    return "".join(before.get(k, "") + ch for k, ch in enumerate(text) if k not in dropped)


def _split_at_gaps(segment: tuple[int, str], char_index, box, size_of) -> list[tuple[int, str]]:
    """A line cut where a space is wider than 1 em (names side by side, table cells)."""
    first_t, text = segment
    if len(text) > 160 or " " not in text:
        return [segment]
    parts: list[tuple[int, str]] = []
    begin = 0
    for k, ch in enumerate(text):
        if ch != " " or k == 0 or text[k - 1] == " " or k + 1 >= len(text) or text[k + 1] == " ":
            continue
        if _CJK.match(text[k - 1]) or _CJK.match(text[k + 1]):
            continue  # Chinese sets Latin words off with full-width spaces
        before, after = char_index(first_t + k - 1), char_index(first_t + k + 1)
        gap = box(after)[0] - box(before)[1]
        if gap > max(size_of(before), 1.0):
            parts.append((first_t + begin, text[begin:k]))
            begin = k + 1
    parts.append((first_t + begin, text[begin:]))
    return [(start, part.strip()) for start, part in parts if part.strip()]


def _merge_same_line(lines: list[Line]) -> list[Line]:
    """Join fragments pdfium split on one line (around a superscript, a formula, a wide gap)."""
    merged: list[Line] = []
    for line in lines:
        prev = merged[-1] if merged else None
        if prev is not None and not prev.rotated and not line.rotated and _same_line(prev, line):
            main = prev if len(prev.text) >= len(line.text) else line
            merged[-1] = Line(
                text=f"{prev.text} {line.text}",
                x0=prev.x0,
                x1=line.x1,
                baseline=main.baseline,
                top=max(prev.top, line.top),
                bottom=min(prev.bottom, line.bottom),
                size=main.size,
                bold=main.bold,
                rotated=False,
                regular=main.regular,
            )
        else:
            merged.append(line)
    return merged


def _same_line(prev: Line, line: Line) -> bool:
    """``line`` continues ``prev`` to its right on the same text line (a superscript counts)."""
    size = max(prev.size, line.size, 1.0)
    if not prev.x1 - 2 <= line.x0 <= prev.x1 + size:
        return False
    if abs(prev.baseline - line.baseline) < 0.3 * size:
        return True
    overlap = min(prev.top, line.top) - max(prev.bottom, line.bottom)
    smaller = min(prev.top - prev.bottom, line.top - line.bottom)
    return smaller > 0 and min(prev.size, line.size) < 0.85 * size and overlap >= 0.5 * smaller


def body_font_size(pages: list[PageText]) -> float:
    """The size most characters are set in (the body text's)."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            if not line.rotated:
                sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def pieces_from_pages(pages: list[PageText], body_size: float | None = None) -> list[Piece]:
    """Elements of every page: lines grouped into blocks, each block given a kind."""
    body = body_size or body_font_size(pages)
    pieces: list[Piece] = []
    for page in pages:
        blocks = _blocks(page.lines)
        # Margin text set sideways (the arXiv stamp) first, where pdfminer's order put it.
        blocks.sort(key=lambda block: not block[0].rotated)
        for block in blocks:
            text = join_lines([line.text for line in block])
            if text and not _MARKS_ONLY.fullmatch(text):  # a lone footnote or affiliation mark
                pieces.append(_piece(block, text, page, body))
    return pieces


def _blocks(lines: list[Line]) -> list[list[Line]]:
    blocks: list[list[Line]] = []
    for line in lines:
        if blocks and _continues(blocks[-1], line):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


def _continues(block: list[Line], line: Line) -> bool:
    """Whether ``line`` belongs to the paragraph ``block`` (same column, font and flow)."""
    last = block[-1]
    if line.rotated or last.rotated or _BULLET.match(line.text):
        return False
    size = max(last.size, line.size, 1.0)
    if abs(last.size - line.size) > max(0.6, 0.08 * size):
        return False
    # A bold line ends the block unless it runs to the margin like the next one: then it is
    # the bold lead of a paragraph ("Human evaluation is expensive. Several ..."), not a heading.
    if ((last.bold and line.regular) or (last.regular and line.bold)) and not (last.bold and last.x1 >= line.x1 - size):
        return False
    step = last.baseline - line.baseline
    if not 0.5 * size <= step <= 1.45 * size:
        return False
    if line.x0 >= last.x1 or line.x1 <= last.x0:  # no horizontal overlap: another column
        return False
    right = max(l.x1 for l in block)
    left = min(l.x0 for l in block)
    # A paragraph ends on a short line that closes a sentence.
    if len(block) > 1 and _SENTENCE_END.search(last.text) and last.x1 < right - 2.5 * size:
        return False
    # ... and a line starting further left than the block is not its continuation.
    return line.x0 >= left - 1.5 * size


def join_lines(texts: list[str]) -> str:
    """Lines of one block as one string; words TeX broke at a line end are rejoined."""
    out = ""
    for text in texts:
        if not out:
            out = text
        elif out.endswith(_SOFT_HYPHENS):
            out = out[:-1] + text
        else:
            out = f"{out} {text}"
    return _CONTROL.sub("", out).strip()


def _piece(block: list[Line], text: str, page: PageText, body: float) -> Piece:
    size = max(line.size for line in block)
    bold = all(line.bold for line in block)
    x0 = min(line.x0 for line in block)
    x1 = max(line.x1 for line in block)
    top = page.height - max(line.top for line in block)
    bottom = page.height - min(line.bottom for line in block)
    kind = classify(block, text, page, body)
    return Piece(kind, text, page.number, font_size=size, bold=bold, bbox=(round(x0, 1), round(top, 1), round(x1, 1), round(bottom, 1)))


def classify(block: list[Line], text: str, page: PageText, body: float) -> str:
    """unstructured's category for a block, from how it is set rather than what its words say."""
    first = block[0]
    in_margin = (
        first.baseline < page.height * MARGIN_SHARE or first.baseline > page.height * (1 - MARGIN_SHARE)
    )
    if _BARE_NUMBER.fullmatch(text) and in_margin:
        return "PageNumber"
    if _BULLET.match(text):
        return "ListItem"
    if first.rotated:
        return "UncategorizedText"
    size = max(line.size for line in block)
    bold = all(line.bold for line in block)
    letters = sum(ch.isalpha() for ch in text)
    shaped = (
        len(block) <= MAX_HEADING_LINES
        and len(text) <= MAX_HEADING_CHARS
        and letters >= 2
        and not re.search(r"[.,;]$", text)
    )
    if shaped and (size >= body + HEADING_SIZE_STEP or bold or (text.isupper() and letters >= 4 and len(text) <= 60)):
        return "Title"
    if len(block) > 1 or len(text) > 80 or _SENTENCE_END.search(text):
        return "NarrativeText"
    return "UncategorizedText"
