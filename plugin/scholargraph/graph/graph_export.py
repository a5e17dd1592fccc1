"""The graph as a whole: JSON export (the graph page, ``scholargraph graph``), counts, networkx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, func, select, true

from scholargraph.graph.citation_graph import edge_rows
from scholargraph.graph.graph_part import GraphPart
from scholargraph.graph.paper_rows import paper_rows
from scholargraph.graph.rows import GraphExport, GraphStats
from scholargraph.graph.schema import EDGE_KINDS, edges, paper_authors, paper_references, paper_scopes
from scholargraph.graph.walk import is_visible, neighbours, visible_ids


class GraphExports(GraphPart):
    """Whole-graph reads over the visible scopes."""

    def export(
        self, scopes: Sequence[str] | None = None, around: Sequence[str] | None = None, hops: int = 1
    ) -> GraphExport:
        """The visible graph as JSON-ready ``{"nodes": [...], "edges": [...]}``.

        ``around``: only the papers within ``hops`` links of these (any kind, either direction,
        found by ``walk.neighbours``, the one graph walk) and the links among them: the graph
        around the papers an answer cited.
        """
        with self.db.read("exporting the graph") as conn:
            nodes = paper_rows(conn, scopes)
            links = edge_rows(conn, scopes, list(EDGE_KINDS))
            if around is not None:
                shown = {node["id"] for node in nodes}
                centre = [pid for pid in dict.fromkeys(around) if pid in shown]
                keep = set(centre) | {n["paper_id"] for n in neighbours(conn, centre, scopes, hops)}
                nodes = [node for node in nodes if node["id"] in keep]
                links = [e for e in links if e["source"] in keep and e["target"] in keep]
            return {"nodes": nodes, "edges": links}

    def stats(self, scopes: Sequence[str] | None = None) -> GraphStats:
        """Counts of visible papers, their authors and references, resolved ones, edges by kind."""
        pa, r, ps = paper_authors, paper_references, paper_scopes
        with self.db.read("counting the graph") as conn:
            if scopes is not None and not scopes:
                return {"papers": 0, "scopes": 0, "authors": 0, "references": 0,
                        "resolved_references": 0, "edges": dict.fromkeys(EDGE_KINDS, 0)}

            def within(column: Any) -> Any:  # the column the query is driven by
                return true() if scopes is None else column.in_(visible_ids(scopes))

            def also(column: Any) -> Any:  # a second paper column, checked per row
                return true() if scopes is None else is_visible(column, scopes)

            scope_filter = true() if scopes is None else ps.c.scope.in_(list(scopes))
            resolved = r.c.target_paper_id.is_not(None)
            by_kind = select(edges.c.kind, func.count()).where(within(edges.c.source), also(edges.c.target))
            edge_counts: dict[str, int] = dict.fromkeys(EDGE_KINDS, 0)
            edge_counts.update((kind, int(n)) for kind, n in conn.execute(by_kind.group_by(edges.c.kind)).all())
            return {
                "papers": _count(conn, select(func.count(func.distinct(ps.c.paper_id))).where(scope_filter)),
                "scopes": _count(conn, select(func.count(func.distinct(ps.c.scope))).where(scope_filter)),
                "authors": _count(conn, select(func.count(func.distinct(pa.c.author_id))).where(within(pa.c.paper_id))),
                "references": _count(conn, select(func.count()).select_from(r).where(within(r.c.paper_id))),
                "resolved_references": _count(
                    conn, select(func.count()).select_from(r).where(resolved, within(r.c.paper_id), also(r.c.target_paper_id))
                ),
                "edges": edge_counts,
            }

    def to_networkx(self, scopes: Sequence[str] | None = None) -> Any:
        """The visible graph as a ``networkx.MultiDiGraph`` for analytics (PageRank, components).

        Edge keys are kinds; symmetric kinds (similar, shares_author) appear in both directions.
        """
        import networkx as nx

        data = self.export(scopes)
        graph = nx.MultiDiGraph()
        for node in data["nodes"]:
            graph.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
        for edge in data["edges"]:
            graph.add_edge(edge["source"], edge["target"], key=edge["kind"], weight=edge["weight"])
            if edge["kind"] != "cites":
                graph.add_edge(edge["target"], edge["source"], key=edge["kind"], weight=edge["weight"])
        return graph


def _count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.scalar(query) or 0)
