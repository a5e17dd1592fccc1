"""Graph expansion: from the hit papers to the papers they cite, that cite them, that are similar
or share an author; each neighbour ranked by its relation's weight and its own best passage.

The best passage is found by scoring the neighbour's stored chunk vectors against the
question directly (fetched by id), which is exact and stays fast at any collection size.
"""

from __future__ import annotations

import numpy as np

from scholargraph.retrieval.results import Neighbour

HOP_DECAY = 0.8


def expand(
    library,
    qvec: np.ndarray,
    hit_papers: list[str],
    scopes: list[str] | None,
    hops: int,
    budget: int,
    edge_weights: dict[str, float],
) -> list[Neighbour]:
    """The best ``budget`` neighbours of the hit papers, each saying why it is there."""
    found = library.graph.neighbours(hit_papers, scopes, hops=hops)
    if not found:
        return []
    ids = list(dict.fromkeys(n["paper_id"] for n in found))
    best = library.store.best_chunks(qvec, library.graph.chunk_ids(ids, scopes))
    meta = library.graph.papers_by_ids(ids + hit_papers, scopes)
    scored: list[Neighbour] = []
    for item in found:
        pid = item["paper_id"]
        if pid not in best or pid not in meta:
            continue
        chunk = best[pid]
        weight = edge_weights.get(item["relation"], 0.5) * HOP_DECAY ** (item.get("hop", 1) - 1)
        paper = meta[pid]
        scored.append(
            Neighbour(
                paper_id=pid,
                title=paper.get("title", ""),
                relation=item["relation"],
                via=item["via"],
                score=round(weight * max(chunk.score, 0.0), 4),
                text=chunk.text,
                hop=item.get("hop", 1),
                section=chunk.section,
                page=chunk.page_start,
                authors=paper.get("authors") or [],
                year=paper.get("year"),
                source=paper.get("source") or "",
                via_title=meta.get(item["via"], {}).get("title", ""),
            )
        )
    scored.sort(key=lambda n: n.score, reverse=True)
    chosen: list[Neighbour] = []
    seen: set[str] = set()
    for n in scored:
        if n.paper_id not in seen:
            seen.add(n.paper_id)
            chosen.append(n)
        if len(chosen) >= budget:
            break
    return chosen
