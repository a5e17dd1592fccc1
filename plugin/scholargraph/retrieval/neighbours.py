"""Graph expansion: from the hit papers to the papers they cite, that cite them, that are similar
or share an author; each neighbour ranked by its relation's weight and its own best passage.

A neighbour earns its place: its best passage, scored like a hit (``fusion.Relevance``) and
times its relation's weight, must reach ``gate`` (a share of the top hit's score). The budget
is a ceiling, never a quota: a cited paper that does not address the question stays out,
and one that does comes in although no hit came from it.

One exception, by structure rather than by score: a question that quotes a passage (a pasted
abstract or paragraph, ``search.quoted_paper``) is about that passage's paper as a whole, and
the papers it cites or that cite it are its context (``context_of``). Their passages score far
below the quoted one (0.14-0.30 of it for the shared papers' abstracts) because nothing scores
near a copy of the question, so the share-of-the-top gate says nothing about them; they join
best first, within the budget, whatever their score. Other relations keep the gate.

A neighbour's best passage often sits among the passages nearest the question, which the search
fetched anyway (``near``). Any of its chunks there means its best chunk is there too, since
``near`` is the library's top. The other shortlisted neighbours get their chunks scored from the
vectors the graph keeps beside each paper (``chunk_matrices``), or by the vector store for papers
stored before the graph kept them (``VectorStore.best_chunks``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from scholargraph.chroma_store import ChunkHit
from scholargraph.packed_vectors import unit
from scholargraph.retrieval.fusion import Relevance
from scholargraph.retrieval.ports import ChunkReads, FoundRow, PaperReads, PaperRow
from scholargraph.retrieval.results import Passage
from scholargraph.settings import RetrievalSettings

CITATIONS = ("cites", "cited_by")
_DEFAULTS = RetrievalSettings.model_validate({})  # hop_decay and shortlist_factor when a caller passes none
# The weight of a relation missing from ``retrieval.edge_weights`` (an admin's partial map).
UNLISTED_WEIGHT = 0.5


def _weight(item: FoundRow, edge_weights: dict[str, float], hop_decay: float) -> float:
    return float(edge_weights.get(item["relation"], UNLISTED_WEIGHT) * hop_decay ** (item.get("hop", 1) - 1))


def _shortlist(graph: PaperReads, vectors: ChunkReads, qvec: np.ndarray, found: Sequence[FoundRow], size: int,
               edge_weights: dict[str, float], first: frozenset[str] = frozenset(),
               hop_decay: float = _DEFAULTS.hop_decay) -> list[str]:
    """The neighbours worth a passage search: relation weight times paper-vector similarity;
    ``first`` (the quoted paper's citations) ahead of the rest.

    A well-connected hit can have hundreds of neighbours (shared authors above all); scoring
    each one's every chunk would cost seconds at 100k chunks. One vector per paper, read from
    the graph, is enough to tell which few deserve it.
    """
    ids = list(dict.fromkeys(n["paper_id"] for n in found))
    if len(ids) <= size:
        return ids
    kept, matrix = graph.paper_matrix(ids, vectors.key)
    similarity: dict[str, float] = dict(zip(kept, (matrix @ unit(qvec)).tolist())) if kept else {}
    missing = [pid for pid in ids if pid not in similarity]
    if missing:  # papers stored before the graph kept their vectors
        similarity.update(vectors.paper_similarities(qvec, missing))
    score: dict[str, float] = {}
    for item in found:
        sim = similarity.get(item["paper_id"])
        if sim is not None:
            value = _weight(item, edge_weights, hop_decay) * sim
            score[item["paper_id"]] = max(score.get(item["paper_id"], value), value)
    return sorted(score, key=lambda pid: (pid in first, score[pid]), reverse=True)[:size]


def _is_context(item: FoundRow, context_of: str | None) -> bool:
    """A paper the quoted paper cites or that cites it: context for a question about that paper."""
    return context_of is not None and item["via"] == context_of and item["relation"] in CITATIONS \
        and item.get("hop", 1) == 1


def best_passages(graph: PaperReads, vectors: ChunkReads, qvec: np.ndarray,
                  chunk_ids: dict[str, list[str]]) -> dict[str, ChunkHit]:
    """Each paper's best passage, scored from the chunk vectors the graph keeps beside it.

    One indexed read and a matrix product, whether Chroma is embedded or a server; a paper
    whose row is missing or out of step with its chunk count is left to the vector store.
    """
    matrices = graph.chunk_matrices(list(chunk_ids), vectors.key)
    q = unit(qvec)
    scored: dict[str, float] = {}
    for pid, matrix in matrices.items():
        cids = chunk_ids[pid]
        if len(cids) == len(matrix):
            scores = matrix @ q
            index = int(np.argmax(scores))
            scored[cids[index]] = float(scores[index])
    return vectors.passages(scored) if scored else {}


def expand(
    graph: PaperReads,
    vectors: ChunkReads,
    qvec: np.ndarray,
    hit_papers: list[str],
    scopes: list[str] | None,
    hops: int,
    budget: int,
    edge_weights: dict[str, float],
    near: list[ChunkHit] | None = None,
    relevance: Relevance | None = None,
    gate: float = 0.0,
    context_of: str | None = None,
    *,
    hop_decay: float = _DEFAULTS.hop_decay,
    shortlist_factor: int = _DEFAULTS.shortlist_factor,
    papers: Callable[[list[str]], dict[str, PaperRow]] | None = None,
    hit_titles: dict[str, str] | None = None,
) -> list[Passage]:
    """At most ``budget`` neighbours of the hit papers that clear ``gate``, each saying why it is there.

    ``near``: passages near the question in these scopes (the nearest by cosine, and the other
    hit candidates), if the caller has them. ``relevance``: how the hits were scored; None
    scores by cosine alone. ``context_of``: the paper the question quotes; its citations at
    one hop join without the gate. ``papers``: the caller's paper lookup (visible papers by id,
    as ``PaperReads.papers_by_ids`` in these scopes), when it keeps one warm. ``hit_titles``:
    the hit papers' titles, when the caller's passages carry them (no second read of them).
    """
    relevance = relevance or Relevance(1.0)
    found = graph.neighbours(hit_papers, scopes, hops=hops)
    if not found:
        return []
    free = frozenset(n["paper_id"] for n in found if _is_context(n, context_of))
    ids = _shortlist(graph, vectors, qvec, found, budget * shortlist_factor, edge_weights, free, hop_decay)
    best: dict[str, ChunkHit] = {}
    value: dict[str, float] = {}
    for hit in near or []:
        if hit.paper_id in ids:
            score = relevance.score(hit.id, hit.paper_id, hit.score)
            if hit.paper_id not in best or score > value[hit.paper_id]:
                best[hit.paper_id], value[hit.paper_id] = hit, score
    rest = [pid for pid in ids if pid not in best]
    if rest:
        chunk_ids = graph.chunk_ids(rest, scopes)
        best.update(best_passages(graph, vectors, qvec, chunk_ids))
        unpacked = {pid: cids for pid, cids in chunk_ids.items() if pid not in best}
        if unpacked:  # papers stored before the graph kept their vectors
            best.update(vectors.best_chunks(qvec, unpacked))
    titles = hit_titles or {}
    wanted = ids + [pid for pid in hit_papers if pid not in titles]  # one read: neighbours, and hits untitled
    meta = papers(wanted) if papers else graph.papers_by_ids(wanted, scopes)
    scored: list[Passage] = []
    for item in found:
        pid = item["paper_id"]
        if pid not in best or pid not in meta:
            continue
        chunk = best[pid]
        weight = _weight(item, edge_weights, hop_decay)
        score = weight * max(relevance.score(chunk.id, pid, chunk.score), 0.0)
        if score < gate and not _is_context(item, context_of):
            continue
        paper = meta[pid]
        via = item["via"]
        scored.append(
            Passage(
                paper_id=pid,
                title=paper.get("title", ""),
                section=chunk.section,
                page=chunk.page_start,
                score=round(score, 4),
                text=chunk.text,
                chunk_id=chunk.id,
                authors=list(paper.get("authors") or []),  # a copy: the paper dict is cached
                year=paper.get("year"),
                origin=paper.get("source") or "",
                relation=item["relation"],
                via=via,
                via_title=titles[via] if via in titles else meta.get(via, {}).get("title", ""),
                hop=item.get("hop", 1),
            )
        )
    scored.sort(key=lambda n: n.score, reverse=True)
    chosen: list[Passage] = []
    seen: set[str] = set()
    for n in scored:
        if n.paper_id not in seen:
            seen.add(n.paper_id)
            chosen.append(n)
        if len(chosen) >= budget:
            break
    return chosen
