"""Reading papers: one query gives each visible paper with its scope rows, as ``PaperRow``.

The search path reads papers on every question, so its statements are built once per shape:
their IN lists are expanding bind parameters and each call reuses the compiled statement;
building one with ``in_(list)`` on every call cost more CPU than running it (SQLAlchemy's
coercions).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from scholargraph.graph.database import batched
from scholargraph.graph.graph_part import GraphPart, paper_exists
from scholargraph.graph.rows import PaperRow
from scholargraph.graph.schema import paper_scopes, papers


class PaperRows(GraphPart):
    """The visible papers, one, some or all of them."""

    def has_paper(self, paper_id: str) -> bool:
        with self.db.read(f"looking up paper {paper_id}") as conn:
            return paper_exists(conn, paper_id)

    def papers(self, scopes: Sequence[str] | None = None) -> list[PaperRow]:
        """Visible papers, oldest first: metadata, ``source`` and ``chunks`` from their first
        visible scope, and ``scopes`` (only the visible ones: scopes are permissions)."""
        with self.db.read("listing papers") as conn:
            return paper_rows(conn, scopes)

    def get_paper(self, paper_id: str, scopes: Sequence[str] | None = None) -> PaperRow | None:
        """One paper with its abstract, or None when it is absent or not visible in ``scopes``."""
        with self.db.read(f"reading paper {paper_id}") as conn:
            rows = paper_rows(conn, scopes, paper_ids=[paper_id], detail=True)
            return rows[0] if rows else None

    def papers_by_ids(self, paper_ids: Sequence[str], scopes: Sequence[str] | None = None) -> dict[str, PaperRow]:
        """Visible papers among ``paper_ids``, by id (as ``papers`` lists them); for search results."""
        with self.db.read("reading papers") as conn:
            found: dict[str, PaperRow] = {}
            for chunk in batched(dict.fromkeys(paper_ids)):
                found.update((p["id"], p) for p in paper_rows(conn, scopes, paper_ids=chunk))
            return found


@functools.cache
def _paper_rows_query(by_scope: bool, by_id: bool) -> Select[Any]:
    p, ps = papers, paper_scopes
    query = select(p, ps.c.scope, ps.c.source, ps.c.n_chunks).join(ps, ps.c.paper_id == p.c.id)
    if by_scope:
        query = query.where(ps.c.scope.in_(bindparam("scopes", expanding=True)))
    if by_id:
        query = query.where(p.c.id.in_(bindparam("paper_ids", expanding=True)))
    return query.order_by(p.c.created_at, p.c.id, ps.c.added_at, ps.c.scope)


def paper_rows(
    conn: Connection,
    scopes: Sequence[str] | None,
    paper_ids: Sequence[str] | None = None,
    detail: bool = False,
) -> list[PaperRow]:
    """Papers with their visible scope rows, one query; the first scope row gives source and chunks.

    ``paper_ids`` must fit one IN list (callers batch); ``detail`` adds abstract and content hash.
    """
    if scopes is not None and not scopes:
        return []
    params: dict[str, list[str]] = {}
    if scopes is not None:
        params["scopes"] = list(scopes)
    if paper_ids is not None:
        params["paper_ids"] = list(paper_ids)
    out: dict[str, PaperRow] = {}
    for row in conn.execute(_paper_rows_query(scopes is not None, paper_ids is not None), params).mappings():
        item = out.get(row["id"])
        if item is None:
            item = out[row["id"]] = {
                "id": row["id"],
                "title": row["title"],
                "authors": list(row["authors"] or []),
                "year": row["year"],
                "doi": row["doi"],
                "arxiv_id": row["arxiv_id"],
                "language": row["language"],
                "pages": row["pages"],
                "source": row["source"],
                "chunks": row["n_chunks"],
                "scopes": [],
            }
            if detail:
                item["abstract"] = row["abstract"]
                item["content_hash"] = row["content_hash"]
        item["scopes"].append(row["scope"])
    for item in out.values():
        item["scopes"].sort()
    return list(out.values())
