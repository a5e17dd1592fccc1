"""The reading list: works that several library papers cite but the library does not hold.

A paper's references that did not resolve to a visible library paper are grouped into works
by the graph's own match keys (normalised DOI, arXiv id, normalised title: ``graph.keys``);
two references sharing any key are one work, and so are two whose titles the citation
resolver would match (same blocking key, title score over ``graph.title_match_threshold``). Works cited by at least ``min_citing`` library
papers are ranked by how many cite them, then by how central the citing papers are (how often
the library cites them), so a work that the library's core papers share comes first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from scholargraph.graph.keys import (
    arxiv_id_from_doi,
    main_title,
    normalise_arxiv_id,
    normalise_doi,
    normalise_title,
    title_blocks,
    title_match_score,
)
from scholargraph.graph.resolve import years_compatible
from scholargraph.library_io.links import arxiv_url, doi_url
from scholargraph.settings import GraphSettings

if TYPE_CHECKING:  # a type only: library_io runs over a Library and is imported by it
    from scholargraph.library import Library


class _Groups:
    """Union-find over reference indexes, joined through shared keys."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.by_key: dict[tuple[str, str], int] = {}

    def add(self, keys: list[tuple[str, str]]) -> None:
        me = len(self.parent)
        self.parent.append(me)
        for key in keys:
            other = self.by_key.setdefault(key, me)
            if other != me:
                self.parent[self.find(other)] = self.find(me)

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i


def reading_list(library: Library, scopes: list[str] | None = None, min_citing: int = 2, limit: int | None = None) -> list[dict[str, Any]]:
    """Works outside the library cited by ``min_citing`` or more visible papers, best first.

    Each: ``title``, ``year``, ``doi``, ``arxiv_id``, ``url``, ``cited_by`` (the library papers,
    id and title), ``count``, ``centrality`` and the ``references`` as each paper wrote them.
    """
    graph = library.graph
    papers = {p["id"]: p for p in graph.papers(scopes)}
    in_library = Counter(e["target"] for e in graph.edges(scopes, kinds=["cites"]))
    refs: list[tuple[str, Mapping[str, Any]]] = []
    groups = _Groups()
    for paper_id in sorted(papers):
        for ref in graph.references_of(paper_id, scopes):
            if ref["target_paper_id"]:
                continue  # the library holds it
            keys = _keys(ref)
            if not keys:
                continue  # nothing to recognise it by
            refs.append((paper_id, ref))
            groups.add(keys)
    _join_near_titles(groups, refs, library.settings.graph)
    members: dict[int, list[int]] = {}
    for i in range(len(refs)):
        members.setdefault(groups.find(i), []).append(i)

    works = []
    for indexes in members.values():
        citing = sorted({refs[i][0] for i in indexes})
        if len(citing) < min_citing:
            continue
        group = [refs[i][1] for i in indexes]
        doi = _most_common(normalise_doi(r["doi"]) for r in group)
        arxiv = _most_common(normalise_arxiv_id(r["arxiv_id"]) or arxiv_id_from_doi(r["doi"]) for r in group)
        works.append({
            "title": _most_common(r["title"] for r in group) or group[0]["raw"][:200],
            "year": _most_common(r["year"] for r in group),
            "doi": doi,
            "arxiv_id": arxiv,
            "url": doi_url(doi) or arxiv_url(arxiv),
            "count": len(citing),
            "centrality": sum(1 + in_library[p] for p in citing),
            "cited_by": [{"id": p, "title": papers[p]["title"]} for p in citing],
            "references": [{"paper_id": refs[i][0], "raw": refs[i][1]["raw"]} for i in indexes],
        })
    works.sort(key=lambda w: (-w["count"], -w["centrality"], (w["title"] or "").casefold()))
    return works[:limit] if limit else works


def _join_near_titles(groups: _Groups, refs: list[tuple[str, Mapping[str, Any]]], rules: GraphSettings) -> None:
    """Titles extraction spelled differently ("Sci- BERT", a dropped subtitle) join when the
    resolver would call them the same work: they share a blocking key, score at least the
    graph's title threshold and their years are compatible."""
    by_block: dict[tuple[int, str | None], list[int]] = {}
    keys = []
    for i, (_, ref) in enumerate(refs):
        norm, main = normalise_title(ref["title"]), main_title(ref["title"])
        keys.append((norm, main, ref["year"]))
        if norm:
            for end, block in enumerate(title_blocks(norm)):
                by_block.setdefault((end, block), []).append(i)
    for members in by_block.values():
        for a, i in enumerate(members):
            for j in members[a + 1:]:
                if groups.find(i) == groups.find(j):
                    continue
                (ni, mi, yi), (nj, mj, yj) = keys[i], keys[j]
                if yi and yj and not years_compatible(yi, yj, rules.year_tolerance):
                    continue
                if title_match_score(ni, mi, nj, mj) >= rules.title_match_threshold:
                    groups.union(i, j)


def _keys(ref: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The reference's match keys, the same normalisers the citation resolver uses."""
    keys = []
    doi = normalise_doi(ref["doi"])
    arxiv = normalise_arxiv_id(ref["arxiv_id"]) or arxiv_id_from_doi(doi)
    title = normalise_title(ref["title"])
    if doi:
        keys.append(("doi", doi))
    if arxiv:
        keys.append(("arxiv", arxiv))
    if title:
        keys.append(("title", title))
    return keys


def _most_common(values: Iterable[Any]) -> Any:
    counted = Counter(v for v in values if v)
    if not counted:
        return None
    best = max(counted.values())
    return min((v for v, n in counted.items() if n == best), key=lambda v: (-len(str(v)), str(v)))


def with_ghosts(graph: dict[str, Any], works: list[dict[str, Any]]) -> dict[str, Any]:
    """``graph`` (as ``Library.graph_json`` gives it) plus the reading list's works as ghost
    nodes, each cited by its library papers, for the graph view."""
    nodes = list(graph.get("nodes", []))
    edges = list(graph.get("edges", []))
    present = {n["id"] for n in nodes}
    for i, work in enumerate(works):
        ghost_id = f"ghost:{i}"
        nodes.append({"id": ghost_id, "title": work["title"], "year": work["year"], "authors": [],
                      "ghost": True, "url": work["url"]})
        edges.extend({"source": p["id"], "target": ghost_id, "kind": "cites", "weight": 1.0}
                     for p in work["cited_by"] if p["id"] in present)
    return {**graph, "nodes": nodes, "edges": edges}
