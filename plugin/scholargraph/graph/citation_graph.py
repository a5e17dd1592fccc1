"""The citation graph: authors, reference lists and the edges between papers.

``cites`` edges are derived from resolved references (``sync_cites``), so resolving a reference
anew (a paper arrives or leaves) only rewrites the citing papers' edges. ``similar`` and
``shares_author`` edges are symmetric and stored once per pair, smaller id first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, literal, or_, select, update

from scholargraph.graph import resolve
from scholargraph.graph.database import batched, insert_ignore, upsert
from scholargraph.graph.graph_part import GraphPart, visible, visible_among
from scholargraph.graph.keys import normalise_author
from scholargraph.graph.rows import EdgeRow, NeighbourRow, ReferenceRow
from scholargraph.graph.schema import EDGE_KINDS, authors, edges, paper_authors, paper_references, papers
from scholargraph.graph.walk import is_visible, neighbours, visible_ids
from scholargraph.models import Paper


class CitationGraph(GraphPart):
    """Writes and reads of authors, references and edges."""

    # -- reads ----------------------------------------------------------------------------
    def references_of(self, paper_id: str, scopes: Sequence[str] | None = None) -> list[ReferenceRow]:
        """A paper's reference list in order, with ``target_paper_id`` where it was resolved.

        With ``scopes``, targets outside them are reported unresolved, and an invisible
        paper has no references.
        """
        r = paper_references
        with self.db.read(f"reading the references of paper {paper_id}") as conn:
            if scopes is not None and not visible(conn, paper_id, scopes):
                return []
            shown_targets = None if scopes is None else visible_among(conn, _targets(conn, paper_id), scopes)
            rows = conn.execute(select(r).where(r.c.paper_id == paper_id).order_by(r.c.position)).mappings()
            out: list[ReferenceRow] = []
            for row in rows:
                target = row["target_paper_id"]
                shown = target is not None and (shown_targets is None or target in shown_targets)
                out.append({
                    "id": row["id"], "position": row["position"], "raw": row["raw"], "doi": row["doi"],
                    "arxiv_id": row["arxiv_id"], "title": row["title"], "year": row["year"],
                    "target_paper_id": target if shown else None,
                    "match_method": row["match_method"] if shown else None,
                    "match_score": row["match_score"] if shown else None,
                })
            return out

    def edges(self, scopes: Sequence[str] | None = None, kinds: Iterable[str] | None = None) -> list[EdgeRow]:
        """Edges with both ends visible: source, target, kind, weight (cites: citing -> cited)."""
        with self.db.read("listing edges") as conn:
            return edge_rows(conn, scopes, check_kinds(kinds))

    def neighbours(
        self,
        paper_ids: Sequence[str],
        scopes: Sequence[str] | None,
        hops: int = 1,
        kinds: Iterable[str] | None = None,
    ) -> list[NeighbourRow]:
        """Papers around ``paper_ids`` for graph expansion (see ``scholargraph.graph.walk``).

        ``kinds`` filters *relations*: 'cites' (the hit cites the neighbour), 'cited_by' (the
        neighbour cites the hit), 'similar', 'shares_author'; None = all. Items carry
        ``paper_id``, ``relation``, ``via``, ``hop``, ``weight`` and all ``relations`` at that hop.
        """
        with self.db.read("expanding the graph") as conn:
            return neighbours(conn, list(paper_ids), scopes, hops, kinds)

    # -- 'similar' edges, kept by graph.similar -------------------------------------------
    def set_similar(self, paper_id: str, similar: Sequence[tuple[str, float]]) -> None:
        """Replace every 'similar' edge touching ``paper_id`` with ``similar`` (id, cosine)."""
        with self.db.write(f"refreshing similar papers of {paper_id}") as conn:
            self._require(conn, paper_id)
            conn.execute(
                delete(edges).where(
                    edges.c.kind == "similar", or_(edges.c.source == paper_id, edges.c.target == paper_id)
                )
            )
            self._write_similar(conn, paper_id, similar)

    def take_similar_stale(self) -> set[str]:
        """Papers that lost a 'similar' edge to a deleted paper since the last call: their
        places among each other's nearest papers may now go to others (``graph.similar.refresh``)."""
        stale, self._similar_stale = self._similar_stale, set()
        return stale

    def prune_similar(self, paper_id: str, keep: Iterable[str]) -> int:
        """Drop the 'similar' edges of ``paper_id`` to papers outside ``keep``; returns how many went."""
        keep = set(keep)
        with self.db.write(f"pruning similar papers of {paper_id}") as conn:
            rows = conn.execute(select(edges.c.source, edges.c.target).where(
                edges.c.kind == "similar", or_(edges.c.source == paper_id, edges.c.target == paper_id))).all()
            gone = [(a, b) for a, b in rows if (b if a == paper_id else a) not in keep]
            for a, b in gone:
                conn.execute(delete(edges).where(edges.c.kind == "similar", edges.c.source == a, edges.c.target == b))
            return len(gone)

    # -- write steps of a new paper (inside the caller's transaction) ---------------------
    def _link_authors(self, conn: Connection, paper: Paper) -> None:
        names: dict[str, str] = {}
        for name in paper.authors:
            norm = normalise_author(name)
            if norm and norm not in names:
                names[norm] = name.strip()
        if not names:
            return
        insert_ignore(conn, authors, [{"name": n, "norm_name": k} for k, n in names.items()], ["norm_name"])
        ids = dict(conn.execute(select(authors.c.norm_name, authors.c.id).where(authors.c.norm_name.in_(list(names)))).all())
        rows = [{"paper_id": paper.id, "author_id": ids[norm], "position": i} for i, norm in enumerate(names)]
        conn.execute(paper_authors.insert(), rows)

    def _insert_references(self, conn: Connection, paper: Paper) -> None:
        """Store the reference list, each resolved against the library where possible."""
        if not paper.references:
            return
        keys = [resolve.reference_keys(paper.id, ref) for ref in paper.references]
        matches = resolve.resolve_references(conn, keys, self.settings)
        rows = []
        for position, (ref, key, match) in enumerate(zip(paper.references, keys, matches)):
            rows.append({
                "paper_id": paper.id,
                "position": position,
                "raw": ref.raw or "",
                "doi": key.doi,
                "arxiv_id": key.arxiv_id,
                "title": ref.title,
                "norm_title": key.norm_title,
                "norm_main_title": key.norm_main_title,
                **key.block_columns(),
                "year": ref.year,
                "target_paper_id": match.paper_id if match else None,
                "match_method": match.method if match else None,
                "match_score": match.score if match else None,
            })
        conn.execute(paper_references.insert(), rows)

    def _claim_references(self, conn: Connection, keys: resolve.Keys) -> set[str]:
        """Point other papers' references at the new paper where it is their best match;
        returns the citing papers whose edges must be rebuilt."""
        matches = resolve.find_citing_references(conn, keys, self.settings)
        return set_targets(conn, matches)

    def _link_shared_authors(self, conn: Connection, paper_id: str) -> None:
        pa = paper_authors
        mine = select(pa.c.author_id).where(pa.c.paper_id == paper_id)
        shared = (
            select(pa.c.paper_id, func.count(func.distinct(pa.c.author_id)))
            .where(pa.c.author_id.in_(mine), pa.c.paper_id != paper_id)
            .group_by(pa.c.paper_id)
        )
        rows = []
        for other, count in conn.execute(shared):
            source, target = _pair(paper_id, other)
            rows.append({"source": source, "target": target, "kind": "shares_author", "weight": float(count)})
        if rows:  # a new paper has no edges yet: plain inserts
            conn.execute(edges.insert(), rows)

    def _write_similar(self, conn: Connection, paper_id: str, similar: Sequence[tuple[str, float]]) -> None:
        best: dict[str, float] = {}
        for other, score in similar:
            if other != paper_id:
                best[other] = max(float(score), best.get(other, float("-inf")))
        present: set[str] = set()
        for chunk in batched(best):
            present.update(conn.scalars(select(papers.c.id).where(papers.c.id.in_(chunk))))
        for other in sorted(present):
            source, target = _pair(paper_id, other)
            row = {"source": source, "target": target, "kind": "similar", "weight": best[other]}
            upsert(conn, edges, row, ["source", "target", "kind"], refresh=["weight"])


def _pair(a: str, b: str) -> tuple[str, str]:
    """Symmetric edges are stored once, smaller id first."""
    return (a, b) if a < b else (b, a)


def check_kinds(kinds: Iterable[str] | None) -> list[str]:
    wanted = list(EDGE_KINDS if kinds is None else kinds)
    unknown = set(wanted) - set(EDGE_KINDS)
    if unknown:
        raise ValueError(f"unknown edge kind(s) {sorted(unknown)}; use {list(EDGE_KINDS)}")
    return wanted


def _targets(conn: Connection, paper_id: str) -> set[str]:
    r = paper_references
    query = select(r.c.target_paper_id).where(r.c.paper_id == paper_id, r.c.target_paper_id.is_not(None))
    return set(conn.scalars(query))


def set_targets(conn: Connection, matches: dict[int, resolve.Match]) -> set[str]:
    """Write resolved targets onto stored references; returns their citing papers."""
    if not matches:
        return set()
    r = paper_references
    statement = (
        update(r)
        .where(r.c.id == bindparam("ref_id"))
        .values(target_paper_id=bindparam("target"), match_method=bindparam("method"), match_score=bindparam("score"))
    )
    conn.execute(
        statement,
        [{"ref_id": ref_id, "target": m.paper_id, "method": m.method, "score": m.score} for ref_id, m in matches.items()],
    )
    citing: set[str] = set()
    for chunk in batched(matches):
        citing.update(conn.scalars(select(r.c.paper_id).where(r.c.id.in_(chunk))))
    return citing


def sync_cites(conn: Connection, citing: Iterable[str]) -> None:
    """Rebuild the 'cites' edges of these papers from their resolved references."""
    r = paper_references
    for chunk in batched(sorted(citing)):
        conn.execute(delete(edges).where(edges.c.kind == "cites", edges.c.source.in_(chunk)))
        derived = (
            select(r.c.paper_id, r.c.target_paper_id, literal("cites"), literal(1.0))
            .where(r.c.paper_id.in_(chunk), r.c.target_paper_id.is_not(None), r.c.target_paper_id != r.c.paper_id)
            .distinct()
        )
        conn.execute(edges.insert().from_select(["source", "target", "kind", "weight"], derived))


def edge_rows(conn: Connection, scopes: Sequence[str] | None, kinds: list[str]) -> list[EdgeRow]:
    """Edges of ``kinds`` with both ends visible in ``scopes`` (None: all), in a stable order."""
    if (scopes is not None and not scopes) or not kinds:
        return []
    query = select(edges.c.source, edges.c.target, edges.c.kind, edges.c.weight).where(edges.c.kind.in_(kinds))
    if scopes is not None:
        query = query.where(edges.c.source.in_(visible_ids(scopes)), is_visible(edges.c.target, scopes))
    query = query.order_by(edges.c.kind, edges.c.source, edges.c.target)
    return [_edge(row) for row in conn.execute(query).mappings()]


def _edge(row: Any) -> EdgeRow:
    return {"source": row["source"], "target": row["target"], "kind": row["kind"], "weight": row["weight"]}
