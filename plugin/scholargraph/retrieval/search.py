"""Question -> passages: dense vectors, optional BM25 fused by reciprocal rank, scope-filtered.

Hits are checked against the graph, the commit record: a passage whose paper is not (or no
longer) visible in the asked scopes is never returned.
"""

from __future__ import annotations

import time

import numpy as np

from scholargraph.language import detect_language
from scholargraph.retrieval.expand import expand
from scholargraph.retrieval.keyword import KeywordIndexCache, reciprocal_rank_fusion
from scholargraph.retrieval.results import Passage, SearchResult
from scholargraph.store import ChunkHit


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

        t0 = time.perf_counter()
        qvec = self.library.embedder.embed_queries([question], task=task)[0]
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        hits = self._dense(qvec, scopes, k * 3 if hybrid else k)
        if hybrid:
            hits = self._fuse(question, qvec, hits, scopes, k)
        hits = [h for h in hits if h.score >= cfg.score_threshold][:k]
        t2 = time.perf_counter()
        timings["search"] = (t2 - t1) * 1000

        meta = self.library.graph.papers_by_ids(sorted({h.paper_id for h in hits}), scopes)
        passages = [self._passage(h, meta[h.paper_id]) for h in hits if h.paper_id in meta]
        hit_papers = list(dict.fromkeys(p.paper_id for p in passages))
        neighbours = []
        if hops > 0 and hit_papers and budget > 0:
            neighbours = expand(self.library, qvec, hit_papers, scopes, hops, budget, cfg.edge_weights)
        timings["expand"] = (time.perf_counter() - t2) * 1000
        return SearchResult(question, detect_language(question), passages, neighbours, timings)

    def _dense(self, qvec: np.ndarray, scopes: list[str] | None, k: int) -> list[ChunkHit]:
        return self.library.store.query(qvec, k, scopes)

    def _fuse(self, question: str, qvec: np.ndarray, dense: list[ChunkHit], scopes, k: int) -> list[ChunkHit]:
        """RRF of dense and BM25 rankings; BM25-only hits get their cosine computed for display."""
        keyword = self.keyword_cache.get(self.library.store, scopes).search(question, k * 3)
        by_id = {h.id: h for h in dense}
        for hit, _ in keyword:
            by_id.setdefault(hit.id, hit)
        fused = reciprocal_rank_fusion(
            [[h.id for h in dense], [h.id for h, _ in keyword]], self.library.settings.retrieval.rrf_k
        )
        missing = [cid for cid in fused if cid not in {h.id for h in dense}]
        if missing:
            vectors = self.library.store.chunk_vectors(missing)
            for cid, vec in vectors.items():
                by_id[cid].score = float(vec @ qvec)
        order = sorted(fused, key=fused.get, reverse=True)
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
