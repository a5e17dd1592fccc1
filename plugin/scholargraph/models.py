"""The data that flows through the engine: what a file becomes, and what gets stored.

Plain dataclasses: they cross process boundaries (parallel parsing) by pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What a passage is. Captions, table/figure text and footnotes stay searchable, but apart from
# the running text and labelled as what they are, so a reader (or a ranker) can tell them apart.
BODY = "body"
CAPTION = "caption"
TABLE = "table"  # table bodies and text drawn inside figures
FOOTNOTE = "footnote"
ASIDE_KINDS = (CAPTION, TABLE, FOOTNOTE)


@dataclass
class Block:
    """One piece of text with the page it sits on (1-based) and what it is (``BODY`` or an aside)."""

    text: str
    page: int | None = None
    kind: str = BODY


@dataclass
class Section:
    """A titled run of body text; ``blocks`` keep page numbers for chunking."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)

    @property
    def kind(self) -> str:
        """``BODY`` for running text; an aside section (one caption, one table, a page's
        footnotes) holds blocks of one aside kind. Kept on the blocks so that any stage that
        rebuilds a Section from its blocks keeps it."""
        return self.blocks[0].kind if self.blocks else BODY

    @property
    def page_start(self) -> int | None:
        pages = [b.page for b in self.blocks if b.page is not None]
        return min(pages) if pages else None

    @property
    def page_end(self) -> int | None:
        pages = [b.page for b in self.blocks if b.page is not None]
        return max(pages) if pages else None


@dataclass
class Reference:
    """One entry of a paper's reference list, raw and parsed."""

    raw: str
    doi: str | None = None
    arxiv_id: str | None = None
    title: str | None = None
    year: int | None = None


@dataclass
class Paper:
    """A parsed document. ``id`` is derived from the file's content hash, so it is stable."""

    id: str
    content_hash: str
    source: str
    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    language: str = "en"
    abstract: str = ""
    sections: list[Section] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    pages: int = 0

    @property
    def body_text(self) -> str:
        """The running text under its headings (captions, tables and footnotes left out)."""
        return "\n\n".join(
            f"{s.title}\n{s.text}" if s.title else s.text for s in self.sections if s.kind == BODY
        )


@dataclass
class Chunk:
    """A retrievable passage of one paper, with where it came from."""

    id: str
    paper_id: str
    index: int
    text: str
    section: str
    page_start: int | None
    page_end: int | None
    kind: str = BODY  # BODY, CAPTION, TABLE or FOOTNOTE: what the passage is
