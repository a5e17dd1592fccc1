"""Graph ablation: what expanding 0, 1 or 2 hops adds to the context of a question.

For every library paper that cites other library papers, the question is its own abstract's
opening (or its title). With hops 0 the context holds only what vector search found; with
hops >= 1 the graph brings in neighbours. A pasted abstract is a question about that paper as a
whole (``search.quoted_paper``), so its citations are context whatever their passages score. We report how many of the paper's cited library
papers reach the context (citation coverage), how many the graph reaches when every neighbour
slot is filled (``neighbour_floor`` 0: before neighbours had to answer the question, this was
the context), how many papers the context spans, and the relations the neighbours carry.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scholargraph.evaluation.metrics import mean

if TYPE_CHECKING:  # evaluations are clients of the front door
    from scholargraph.library import Library


def _question(paper: Mapping[str, Any]) -> str:
    abstract = (paper.get("abstract") or "").strip()
    if abstract:
        return " ".join(abstract.split()[:40])
    return paper.get("title") or ""


def graph_ablation(library: Library, scopes: list[str] | None = None, hops_list: tuple[int, ...] = (0, 1, 2), k: int = 5) -> dict[str, Any]:
    data = library.graph_json(scopes)
    cites: dict[str, set[str]] = {}
    for edge in data["edges"]:
        if edge["kind"] == "cites":
            cites.setdefault(edge["source"], set()).add(edge["target"])
    papers = {n["id"]: library.get_paper(n["id"]) or n for n in data["nodes"]}
    probes = [(pid, _question(papers[pid])) for pid in cites if _question(papers[pid])]
    out: dict[str, Any] = {"papers": len(papers), "probe_papers": len(probes),
                           "cites_edges": sum(len(v) for v in cites.values()), "k": k, "by_hops": {}}
    for hops in hops_list:
        coverage, reach, spans, times = [], [], [], []
        relations: Counter[str] = Counter()
        for pid, question in probes:
            start = time.perf_counter()
            result = library.search(question, scopes, k=k, hops=hops)
            times.append((time.perf_counter() - start) * 1000)
            in_context = {h.paper_id for h in result.hits} | {n.paper_id for n in result.neighbours}
            coverage.append(len(cites[pid] & in_context) / len(cites[pid]))
            spans.append(len(in_context))
            relations.update(n.relation for n in result.neighbours)
            # The graph's reach: the same search with the neighbour budget filled, relevant or not.
            ungated = library.search(question, scopes, k=k, hops=hops, neighbour_floor=0.0)
            reached = {h.paper_id for h in ungated.hits} | {n.paper_id for n in ungated.neighbours}
            reach.append(len(cites[pid] & reached) / len(cites[pid]))
        out["by_hops"][str(hops)] = {
            "cited_papers_in_context": round(mean(coverage), 3),
            "cited_papers_reached_ungated": round(mean(reach), 3),
            "papers_in_context": round(mean(spans), 2),
            "neighbour_relations": dict(relations),
            "ms_per_question": round(mean(times), 1),
        }
    return out
