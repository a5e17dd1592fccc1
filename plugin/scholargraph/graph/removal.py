"""Removing papers from the graph: every row that hangs on them, and the citations they leave.

A reference that pointed to a removed paper is resolved again at once: a duplicate (say, the
preprint of a deleted journal version) may be its next best match.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, exists, or_, select, update

from scholargraph.graph import resolve
from scholargraph.graph.citation_graph import set_targets, sync_cites
from scholargraph.graph.database import batched
from scholargraph.graph.schema import (
    authors,
    chunk_vectors,
    edges,
    paper_authors,
    paper_references,
    paper_scopes,
    paper_sources,
    paper_vectors,
    papers,
)
from scholargraph.settings import GraphSettings


def delete_papers(conn: Connection, paper_ids: Sequence[str], rules: GraphSettings) -> set[str]:
    """Remove papers and everything hanging on them, inside the caller's transaction; re-resolve
    references that cited them. Returns the papers that lost a 'similar' edge to them."""
    similar_stale: set[str] = set()
    if not paper_ids:
        return similar_stale
    r, pa = paper_references, paper_authors
    ids = set(paper_ids)
    orphaned: list[resolve.Keys] = []
    author_ids: set[int] = set()
    for chunk in batched(ids):
        cited = select(r).where(r.c.target_paper_id.in_(chunk))
        for row in conn.execute(cited).mappings():
            if row["paper_id"] not in ids:
                orphaned.append(resolve.Keys(
                    owner=row["paper_id"], doi=row["doi"], arxiv_id=row["arxiv_id"],
                    norm_title=row["norm_title"], norm_main_title=row["norm_main_title"],
                    year=row["year"], ref_id=row["id"],
                ))
        author_ids.update(conn.scalars(select(pa.c.author_id).where(pa.c.paper_id.in_(chunk))))
        conn.execute(
            update(r).where(r.c.target_paper_id.in_(chunk)).values(target_paper_id=None, match_method=None, match_score=None)
        )
        for a, b in conn.execute(select(edges.c.source, edges.c.target).where(
                edges.c.kind == "similar", or_(edges.c.source.in_(chunk), edges.c.target.in_(chunk)))):
            similar_stale.update({a, b} - ids)
        conn.execute(delete(edges).where(or_(edges.c.source.in_(chunk), edges.c.target.in_(chunk))))
        conn.execute(delete(r).where(r.c.paper_id.in_(chunk)))
        conn.execute(delete(pa).where(pa.c.paper_id.in_(chunk)))
        conn.execute(delete(paper_scopes).where(paper_scopes.c.paper_id.in_(chunk)))
        conn.execute(delete(paper_sources).where(paper_sources.c.paper_id.in_(chunk)))
        conn.execute(delete(paper_vectors).where(paper_vectors.c.paper_id.in_(chunk)))
        conn.execute(delete(chunk_vectors).where(chunk_vectors.c.paper_id.in_(chunk)))
        conn.execute(delete(papers).where(papers.c.id.in_(chunk)))
    for chunk in batched(author_ids):
        linked = exists().where(pa.c.author_id == authors.c.id)
        conn.execute(delete(authors).where(authors.c.id.in_(chunk), ~linked))
    if orphaned:
        matches = resolve.resolve_references(conn, orphaned, rules)
        found = {key.ref_id: match for key, match in zip(orphaned, matches) if match and key.ref_id is not None}
        set_targets(conn, found)
        sync_cites(conn, {key.owner for key in orphaned})
    return similar_stale
