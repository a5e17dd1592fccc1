"""What a reference manager knows about a paper that the parser does not: its citation key,
entry type, venue, URL, tags, and where it came from (a Zotero item key and version).

Kept in a table of its own beside the graph's ``papers`` (same database, gone with the paper
through its foreign key), so the graph's schema stays the parser's and an export can give the
user's own keys back.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, String, Table, Text, select

from scholargraph.graph import PaperGraph
from scholargraph.graph.database import batched, upsert
from scholargraph.graph.schema import metadata

paper_records = Table(
    "paper_records",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("cite_key", String(255)),  # the key the user's own .bib gave it
    Column("entry_type", String(32)),  # BibTeX type: article, inproceedings, misc, ...
    Column("venue", Text),  # journal or proceedings
    Column("url", Text),
    Column("tags", JSON),
    Column("origin", String(16)),  # bibtex | ris | csl-json | zotero
    Column("metadata_only", Boolean, nullable=False, default=False),  # no file: abstract only
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass
class Record:
    """The reference-manager side of one paper."""

    cite_key: str | None = None
    entry_type: str | None = None
    venue: str | None = None
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    import_format: str | None = None  # stored (and shown) as "origin", the column's name
    metadata_only: bool = False


_READY: "weakref.WeakSet[PaperGraph]" = weakref.WeakSet()


def ensure_table(graph: PaperGraph) -> None:
    """Create this module's tables in a library made before they existed, once per open graph
    (a graph opened after this module was imported created them already: same ``metadata``)."""
    if graph in _READY:
        return
    with graph.db.write("creating the library_io tables") as conn:
        for extra in (paper_records, *_EXTRA_TABLES):
            extra.create(conn, checkfirst=True)
    _READY.add(graph)


# Tables of sibling modules (zotero.py) that register here, so one check creates them all.
_EXTRA_TABLES: list[Table] = []


def put_record(graph: PaperGraph, paper_id: str, record: Record) -> None:
    ensure_table(graph)
    row = {
        "paper_id": paper_id, "cite_key": record.cite_key, "entry_type": record.entry_type,
        "venue": record.venue, "url": record.url, "tags": list(record.tags), "origin": record.import_format,
        "metadata_only": record.metadata_only, "updated_at": datetime.now(timezone.utc),
    }
    with graph.db.write(f"recording the reference entry of paper {paper_id}") as conn:
        upsert(conn, paper_records, row, ["paper_id"])


def get_records(graph: PaperGraph, paper_ids: Sequence[str]) -> dict[str, Record]:
    """Records of the papers that have one."""
    ensure_table(graph)
    r = paper_records
    out: dict[str, Record] = {}
    with graph.db.read("reading paper records") as conn:
        for chunk in batched(dict.fromkeys(paper_ids)):
            for row in conn.execute(select(r).where(r.c.paper_id.in_(chunk))).mappings():
                out[row["paper_id"]] = _record(row)
    return out


def _record(row: Any) -> Record:
    return Record(
        cite_key=row["cite_key"], entry_type=row["entry_type"], venue=row["venue"], url=row["url"],
        tags=list(row["tags"] or []), import_format=row["origin"], metadata_only=bool(row["metadata_only"]),
    )
