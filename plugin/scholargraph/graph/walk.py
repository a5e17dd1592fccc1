"""Graph expansion: the papers around a set of hits, breadth first, one query per hop.

Relations are named from the hit's side, i.e. what the neighbour is to the paper it hangs on
(``via``):

- ``cites``: ``via`` cites the neighbour (the neighbour is in its reference list);
- ``cited_by``: the neighbour cites ``via``;
- ``similar``: their paper vectors are close (weight: cosine similarity);
- ``shares_author``: they share authors (weight: how many).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, exists, literal, select, union_all

from scholargraph.graph.database import IN_BATCH, batched
from scholargraph.graph.rows import NeighbourLink, NeighbourRow
from scholargraph.graph.schema import edges, paper_scopes

RELATIONS = ("cites", "cited_by", "similar", "shares_author")  # also the order of preference


def visible_ids(scopes: Sequence[str]) -> Any:
    """Subquery of the paper ids readable in ``scopes``: for the column a query is driven by."""
    return select(paper_scopes.c.paper_id).where(paper_scopes.c.scope.in_(list(scopes)))


def is_visible(column: Any, scopes: Sequence[str]) -> Any:
    """``column`` names a paper readable in ``scopes``, checked row by row.

    For the far end of an edge: as ``IN (subquery)`` SQLite would probe the edge index once
    per (near, far) pair, which is quadratic; EXISTS is one primary-key probe per edge.
    """
    ps = paper_scopes
    return exists().where(ps.c.paper_id == column, ps.c.scope.in_(list(scopes)))


def check_relations(relations: Iterable[str] | None) -> set[str]:
    wanted = set(RELATIONS if relations is None else relations)
    unknown = wanted - set(RELATIONS)
    if unknown:
        raise ValueError(f"unknown relation(s) {sorted(unknown)}; use {list(RELATIONS)}")
    return wanted


def _hop_query(frontier: list[str], scopes: Sequence[str] | None, wanted: set[str]) -> Any:
    """Edges leaving and entering the frontier, with the far end visible: (via, other, kind, weight, out)."""
    symmetric = [k for k in ("similar", "shares_author") if k in wanted]
    out_kinds = symmetric + (["cites"] if "cites" in wanted else [])
    in_kinds = symmetric + (["cites"] if "cited_by" in wanted else [])
    parts = []
    for kinds, near, far, is_out in (
        (out_kinds, edges.c.source, edges.c.target, 1),
        (in_kinds, edges.c.target, edges.c.source, 0),
    ):
        if not kinds:
            continue
        part = select(
            near.label("via"), far.label("other"), edges.c.kind, edges.c.weight, literal(is_out).label("out")
        ).where(near.in_(frontier), edges.c.kind.in_(kinds))
        if scopes is not None:
            part = part.where(is_visible(far, scopes))
        parts.append(part)
    return union_all(*parts) if len(parts) > 1 else parts[0]


def neighbours(
    conn: Connection,
    paper_ids: Sequence[str],
    scopes: Sequence[str] | None,
    hops: int = 1,
    relations: Iterable[str] | None = None,
) -> list[NeighbourRow]:
    """Papers within ``hops`` of ``paper_ids``, each once, at its smallest hop.

    Each item: ``paper_id``, ``hop``, and its strongest link (``relation``, ``via``, ``weight``;
    strongest = earliest in RELATIONS, then heaviest), plus every link at that hop in
    ``relations``. Start papers are never returned; only papers visible in ``scopes`` are
    (None = all). Ordered by hop, relation, weight (heaviest first), id.
    """
    wanted = check_relations(relations)
    if scopes is not None and not scopes:
        return []
    seen = set(paper_ids)
    frontier = sorted(seen)
    found: list[NeighbourRow] = []
    for hop in range(1, max(hops, 0) + 1):
        if not frontier or not wanted:
            break
        links: dict[str, list[NeighbourLink]] = {}
        for chunk in batched(frontier, IN_BATCH // 2):
            for via, other, kind, weight, is_out in conn.execute(_hop_query(chunk, scopes, wanted)):
                if other in seen:
                    continue
                relation = ("cites" if is_out else "cited_by") if kind == "cites" else kind
                if relation in wanted:
                    links.setdefault(other, []).append({"relation": relation, "via": via, "weight": float(weight)})
        for paper_id, paper_links in links.items():
            paper_links.sort(key=lambda link: (RELATIONS.index(link["relation"]), -link["weight"], link["via"]))
            best = paper_links[0]
            found.append({"paper_id": paper_id, "hop": hop, "relation": best["relation"], "via": best["via"],
                          "weight": best["weight"], "relations": paper_links})
        seen.update(links)
        frontier = sorted(links)
    found.sort(key=lambda n: (n["hop"], RELATIONS.index(n["relation"]), -n["weight"], n["paper_id"]))
    return found
