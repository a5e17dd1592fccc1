"""Debris detector for passages: what in a chunk is not running body text.

A test helper (and the measure behind ``bench/debris.py``): it judges chunk text the
parser produced, with rules written independently of the parser. Page furniture is read
from the PDF itself with pypdfium2 (lines in the top and bottom bands of each page), so the
detector does not share the parser's blind spots.

Categories:
- ``caption``: a figure/table caption opener ("Figure 2:", "Fig. 5.", "Table 1:") that is
  not a reference from a sentence ("as shown in Figure 3.").
- ``table``: table or chart text, a run of numbers (>= 7 numeric tokens among 10).
- ``arxiv_stamp``: the arXiv margin stamp ("arXiv:2103.00020v1 [cs.CL]", read reversed or upright).
- ``arxiv_category``: arXiv category labels in text ("cs.CV stat.ML"); fine inside a chart's text.
- ``footnote``: a footnote mark glued to its URL or text ("9https://…", "8The papers …").
- ``running_head``: a line printed in the top or bottom band of several pages.
- ``page_number``: a page's printed number standing between sentences.
- ``page_footer``: page-1 footers (proceedings line, ACM permission block).

A chunk labelled as a caption / table / footnote is allowed its own kind of content.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CATEGORIES = ("caption", "table", "arxiv_stamp", "arxiv_category", "footnote", "running_head", "page_number",
              "page_footer")
# What each labelled chunk kind may legitimately contain (a chart may be labelled with arXiv categories).
ALLOWED = {
    "body": set(),
    "caption": {"caption", "table"},
    "table": {"caption", "table", "arxiv_category"},
    "footnote": {"footnote", "page_footer"},
}

_CAPTION = re.compile(r"(?<![\w.])(?:Figure|FIGURE|Fig\.|FIG\.|Table|TABLE)\s?\d{1,2}[a-z]?\s?[:.|]\s+(?=[\w\[(“\"])")
_REFERENCE_WORDS = {"in", "see", "of", "and", "from", "to", "with", "shown", "by", "on", "at", "as", "is", "cf.", "(see",
                    "for", "per", "into", "under"}
_CITATION_LIST = re.compile(r"\[[\d,;\s–\-]+\]")  # "[12, 24, 26]" is a citation, not a table row
_NUMERIC = re.compile(r"^[(\[]?[-+±−]?\d[\d.,]*[%*†‡]?[)\],;]?$|^±$")
_ARXIV = re.compile(
    r"arXiv:\d{4}\.\d{4,5}(?:v\d+)?\s*\[|v\s?i\s?X\s?r\s?a|\[(?:cs|stat|math|eess|econ|q-bio|q-fin|physics)\.[A-Z]{2}\]"
)
_ARXIV_CATEGORY = re.compile(
    r"(?<![\w.])(?:cs|stat|math|eess|econ|q-bio|q-fin|physics|astro-ph|cond-mat|quant-ph)\.[A-Z]{2}(?![\w])"
)
_FOOTNOTE = re.compile(
    r"(?<![\w./:@#=\-])\d{1,2}\s?(?:https?://|www\.)"  # 9https://github.com/…
    r"|(?:^|(?<=[.!?”\"):;] ))\d{1,2}(?=[A-Z][a-z]{2,}\b)"  # … pronounced “stork” 8The papers …
)
_PAGE_FOOTER = re.compile(
    r"Permission to make digital or hard copies|Proceedings of the \d+(?:st|nd|rd|th) (?:Annual )?(?:Meeting|Conference)"
)
_BARE_NUMBER = re.compile(r"\d{1,4}")
_WORDS = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


@dataclass
class PageEdges:
    """Running heads and printed page numbers of one PDF, read from its top and bottom bands."""

    heads: list[tuple[str, ...]] = field(default_factory=list)  # word tuples of recurring edge lines
    page_numbers: dict[int, str] = field(default_factory=dict)  # page (1-based) -> printed number

    @classmethod
    def from_pdf(cls, path: str | Path, band: float = 0.1) -> PageEdges:
        """Edge lines recurring on >= 3 pages (>= 2 in documents under 6 pages) are running heads."""
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        needed = 3 if len(doc) >= 6 else 2
        seen: dict[tuple[str, ...], set[int]] = defaultdict(set)
        numbers: dict[int, str] = {}
        try:
            for index in range(len(doc)):
                page = doc[index]
                _, height = page.get_size()
                textpage = page.get_textpage()
                lines: dict[int, list[tuple[float, str]]] = defaultdict(list)  # baseline -> (x, text)
                for i in range(textpage.count_rects()):
                    left, bottom, right, top = textpage.get_rect(i)
                    if bottom < height * (1 - band) and top > height * band:
                        continue
                    text = textpage.get_text_bounded(left, bottom, right, top).strip()
                    if _BARE_NUMBER.fullmatch(text):
                        numbers[index + 1] = text
                    elif text:
                        lines[round(bottom / 3)].append((left, text))
                for parts in lines.values():
                    seen[tuple(_words(" ".join(t for _, t in sorted(parts))))].add(index + 1)
        finally:
            doc.close()
        heads = [key for key, pages in seen.items() if len(pages) >= needed and len(key) >= 2]
        # Printed page numbers run in step with the page index; other edge numbers (table cells) do not.
        offsets = Counter(int(number) - page for page, number in numbers.items())
        offset, count = offsets.most_common(1)[0] if offsets else (0, 0)
        numbers = {page: n for page, n in numbers.items() if int(n) - page == offset} if count >= needed else {}
        return cls(heads=heads, page_numbers=numbers)


def _is_caption_opener(text: str, match: re.Match) -> bool:
    before = text[: match.start()].split()
    return not before or before[-1].casefold() not in _REFERENCE_WORDS


def _number_run(text: str, window: int = 10, needed: int = 7) -> re.Match | None:
    """Where >= ``needed`` of ``window`` consecutive tokens are numbers (table cells, axis ticks)."""
    text = _CITATION_LIST.sub(lambda m: "x" * len(m.group()), text)  # same offsets, no numbers
    tokens = list(re.finditer(r"\S+", text))
    flags = [bool(_NUMERIC.match(t.group())) for t in tokens]
    for i in range(max(1, len(flags) - window + 1)):
        if sum(flags[i: i + window]) >= needed:
            end = tokens[min(i + window, len(tokens)) - 1].end()
            return re.compile(re.escape(text[tokens[i].start(): end])).search(text, tokens[i].start())
    return None


def _head_pattern(words: tuple[str, ...]) -> re.Pattern:
    body = r"\W+".join(re.escape(w) for w in words)
    # "Chang et al." as a running head, not as a citation ("Chang et al. [12]", "Chang et al.'s").
    tail = r"(?!\.?\s*(?:[\[(,\d]|’s|'s))" if words[-2:] == ("et", "al") else ""
    return re.compile(rf"(?<!\w){body}(?!\w){tail}", re.IGNORECASE)


def find_debris(text: str, kind: str = "body", edges: PageEdges | None = None,
                pages: tuple[int | None, int | None] = (None, None)) -> set[str]:
    """The debris categories found in one chunk's text (those its kind allows left out)."""
    return set(explain_debris(text, kind, edges, pages))


def explain_debris(text: str, kind: str = "body", edges: PageEdges | None = None,
                   pages: tuple[int | None, int | None] = (None, None)) -> dict[str, str]:
    """Category -> the first offending snippet (for reports and test failure messages)."""
    found: dict[str, re.Match | None] = {}
    captions = [m for m in _CAPTION.finditer(text) if _is_caption_opener(text, m)]
    found["caption"] = captions[0] if captions else None
    found["table"] = _number_run(text)
    found["arxiv_stamp"] = _ARXIV.search(text)
    found["arxiv_category"] = _ARXIV_CATEGORY.search(text)
    found["footnote"] = _FOOTNOTE.search(text)
    found["page_footer"] = _PAGE_FOOTER.search(text)
    if edges is not None:
        found["running_head"] = next(filter(None, (_head_pattern(h).search(text) for h in edges.heads)), None)
        found["page_number"] = _page_number(text, edges, pages)
    allowed = ALLOWED.get(kind, set())
    return {
        category: text[max(0, m.start() - 40): m.end() + 40]
        for category, m in found.items() if m is not None and category not in allowed
    }


def _page_number(text: str, edges: PageEdges, pages: tuple[int | None, int | None]) -> re.Match | None:
    start, end = pages
    if start is None:
        return None
    for page in range(max(1, start - 1), (end or start) + 2):
        number = edges.page_numbers.get(page)
        if not number:
            continue
        boundary = r"(?:^|(?<=[.!?:;”)] ))"
        match = re.search(rf"{boundary}{re.escape(number)}(?=\s+[A-Z(“\[]|$)", text)
        if not match and len(number) >= 3:
            match = re.search(rf"(?<![\w.,–\-]){re.escape(number)}(?![\w.,–\-])", text)
        if match:
            return match
    return None


@dataclass
class DebrisReport:
    """Share of chunks with debris, in total and per category."""

    chunks: int = 0
    body_chunks: int = 0
    with_debris: int = 0
    by_category: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CATEGORIES})
    by_kind: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)  # paper, chunk index, section, category -> snippet

    @property
    def share(self) -> float:
        return self.with_debris / self.chunks if self.chunks else 0.0

    def add(self, paper: str, chunk, edges: PageEdges | None) -> dict[str, str]:
        """Judge one stored chunk; returns category -> offending snippet."""
        kind = getattr(chunk, "kind", "body") or "body"
        self.chunks += 1
        self.body_chunks += kind == "body"
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        found = explain_debris(chunk.text, kind, edges, (chunk.page_start, chunk.page_end))
        if found:
            self.with_debris += 1
            for category in found:
                self.by_category[category] += 1
            self.examples.append({"paper": paper, "index": chunk.index, "kind": kind, "section": chunk.section,
                                  "debris": found})
        return found
