"""Question -> passages: dense vectors, optional BM25 fused in (``fusion``), scope-filtered.

Hits are checked against the graph, the commit record: a passage whose paper is not (or no
longer) visible in the asked scopes is never returned.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from scholargraph.language import detect_language, script_family
from scholargraph.retrieval.expand import expand
from scholargraph.retrieval.fusion import convex_fusion, reciprocal_rank_fusion
from scholargraph.retrieval.keyword import KeywordIndexCache
from scholargraph.retrieval.results import Passage, SearchResult
from scholargraph.store import ChunkHit


# Passages fetched near the question when the graph is expanded: the neighbours found among them
# need no scoring of their own. 50 costs ~1 ms more than 10 in a 100k-chunk collection.
NEAR_POOL = 50


class Searcher:
    """Search over one library; keeps the BM25 indexes warm between questions."""

    def __init__(self, library) -> None:
        self.library = library
        self.keyword_cache = KeywordIndexCache()

    def search(
        self,
        question: str,
        scopes: list[str] | None = None,
        k: int | None = None,
        hops: int | None = None,
        hybrid: bool | None = None,
        neighbour_budget: int | None = None,
        task: str = "retrieve",
    ) -> SearchResult:
        cfg = self.library.settings.retrieval
        k = cfg.top_k if k is None else k
        hops = cfg.hops if hops is None else hops
        hybrid = cfg.hybrid if hybrid is None else hybrid
        budget = cfg.neighbour_budget if neighbour_budget is None else neighbour_budget
        timings: dict[str, float] = {}
        language = detect_language(question)

        t0 = time.perf_counter()
        qvec = self.library.embedder.embed_queries([question], task=task)[0]
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        # One query serves both the hits and the neighbours' passages that lie near the question.
        near = self._dense(qvec, scopes, max(k * 3 if hybrid else k, NEAR_POOL if hops > 0 else 0))
        hits = near[: k * 3] if hybrid else near[:k]
        if hybrid:
            hits = self._fuse(question, language, qvec, hits, scopes, k)
        hits = [h for h in hits if h.score >= cfg.score_threshold][:k]
        t2 = time.perf_counter()
        timings["search"] = (t2 - t1) * 1000

        meta = self.library.graph.papers_by_ids(sorted({h.paper_id for h in hits}), scopes)
        passages = [self._passage(h, meta[h.paper_id]) for h in hits if h.paper_id in meta]
        hit_papers = list(dict.fromkeys(p.paper_id for p in passages))
        neighbours = []
        if hops > 0 and hit_papers and budget > 0:
            neighbours = expand(self.library, qvec, hit_papers, scopes, hops, budget, cfg.edge_weights, near)
        timings["expand"] = (time.perf_counter() - t2) * 1000
        return SearchResult(question, language, passages, neighbours, timings)

    def _dense(self, qvec: np.ndarray, scopes: list[str] | None, k: int) -> list[ChunkHit]:
        return self.library.store.query(qvec, k, scopes)

    def _fuse(self, question: str, language: str, qvec: np.ndarray, dense: list[ChunkHit], scopes,
              k: int) -> list[ChunkHit]:
        """Dense and BM25 rankings fused (``retrieval.fusion``); hits keep their cosine for display.

        Keyword matches count only in papers written like the question (CJK or alphabetic,
        ``script_family``): across that line the only words shared are names and acronyms,
        and the vectors already match meaning.
        """
        cfg = self.library.settings.retrieval
        index = self.keyword_cache.get(self.library.store, scopes, self.library.graph.scope_version(scopes))
        keyword = index.search(question, k * 3)
        family = script_family(language)
        if keyword and family != "und":
            papers = self.library.graph.papers_by_ids(sorted({h.paper_id for h, _ in keyword}), scopes)
            keyword = [(h, s) for h, s in keyword
                       if script_family(papers.get(h.paper_id, {}).get("language") or "") in ("und", family)]
        by_id = {h.id: h for h in dense}
        missing = [h for h, _ in keyword if h.id not in by_id]
        if missing:  # keyword-only hits get their cosine: for fusion, display and the threshold
            vectors = self.library.store.chunk_vectors([h.id for h in missing])
            for hit in missing:  # copies: the index's hits are shared between questions
                by_id[hit.id] = replace(hit, score=float(vectors[hit.id] @ qvec) if hit.id in vectors else 0.0)
        if cfg.fusion == "rrf":
            fused = reciprocal_rank_fusion([[h.id for h in dense], [h.id for h, _ in keyword]], cfg.rrf_k)
        else:
            fused = convex_fusion({cid: h.score for cid, h in by_id.items()}, {h.id: s for h, s in keyword},
                                  cfg.hybrid_alpha, index.coverage(question), cfg.keyword_floor)
        order = sorted(fused, key=lambda cid: (-fused[cid], -by_id[cid].score))
        return [by_id[cid] for cid in order]

    @staticmethod
    def _passage(hit: ChunkHit, paper: dict) -> Passage:
        return Passage(
            paper_id=hit.paper_id,
            title=paper.get("title", ""),
            section=hit.section,
            page=hit.page_start,
            score=round(hit.score, 4),
            text=hit.text,
            chunk_id=hit.id,
            authors=paper.get("authors") or [],
            year=paper.get("year"),
            source=paper.get("source") or "",
        )
