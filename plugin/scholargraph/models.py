"""The data that flows through the engine: what a file becomes, what gets stored, and what an
ingest reports (``IngestEvent``, ``IngestReport``: public models every face shows).

Plain dataclasses: they cross process boundaries (parallel parsing) by pickling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    """A parsed document. ``id`` is derived from the file's content hash, so it is stable.
    ``origin``: what it came from (a file path, an Open WebUI file, a Zotero item, a reference
    list's entry), recorded per scope by the graph."""

    id: str
    content_hash: str
    origin: str
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


# -- what an ingest tells its caller ---------------------------------------------------------
@dataclass
class IngestEvent:
    """What a progress display needs: which file, what happened, and how far along we are."""

    path: str
    status: str  # "added" | "skipped" | "copied" | "failed"; "parsing": progress inside a file, ``done`` unchanged
    message: str
    done: int
    total: int
    paper_id: str | None = None


def _stage_seconds() -> dict[str, float]:
    return {"parse": 0.0, "embed": 0.0, "store": 0.0, "graph": 0.0}


@dataclass
class IngestReport:
    """Outcome of one ingest run, per file and in totals.

    ``warnings`` holds what went wrong besides a file failing, e.g. vectors of a failed commit
    that could not be removed again: the user hears of them instead of a log line alone.
    """

    added: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    paper_ids: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    chunks: int = 0
    seconds: dict[str, float] = field(default_factory=_stage_seconds)
    wall_seconds: float = 0.0
    ocr_pages: int = 0  # pages read by OCR (no usable text layer)
    ocr_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self, name: Callable[[str], str] = str) -> dict[str, Any]:
        """The report as `scholargraph ingest --json` prints it and POST /ingest answers it;
        ``name`` shows each file (the service: the uploaded file's name, not its stored path)."""
        out: dict[str, Any] = {
            "added": [name(p) for p in self.added],
            "copied": [name(p) for p in self.copied],
            "skipped": [name(p) for p in self.skipped],
            "failed": [{"file": name(p), "error": e} for p, e in self.failed],
            "paper_ids": {name(p): pid for p, pid in self.paper_ids.items()},
            "pages": self.pages,
            "chunks": self.chunks,
            "seconds": round(self.wall_seconds, 3),
            "stage_seconds": {stage: round(s, 3) for stage, s in self.seconds.items()},
        }
        if self.warnings:  # only when there is something to say: the usual report keeps its shape
            out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> str:
        parts = [f"added {len(self.added)}"]
        if self.copied:
            parts.append(f"copied {len(self.copied)} from other knowledge bases without re-embedding")
        parts.append(f"skipped {len(self.skipped)} already ingested")
        parts.append(f"failed {len(self.failed)}")
        summary = ", ".join(parts)
        if self.warnings:
            summary += "; " + "; ".join(self.warnings)
        return summary
