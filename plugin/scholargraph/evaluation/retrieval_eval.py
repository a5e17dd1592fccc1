"""Retrieval quality through the real pipeline: documents are chunked, embedded and stored like
papers, questions go through ``Library.search``; a document scores by its best chunk."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from scholargraph.evaluation.datasets import RetrievalSet
from scholargraph.evaluation.metrics import mean, ndcg_at_k, recall_at_k, reciprocal_rank
from scholargraph.language import detect_language
from scholargraph.models import Block, Paper, Section
from scholargraph.retrieval.keyword import KeywordIndex

if TYPE_CHECKING:  # evaluations are clients of the front door
    from scholargraph.library import Library

SCOPE = "eval"


def _doc_paper(doc_id: str, text: str) -> Paper:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Paper(id=f"doc-{doc_id}", content_hash=digest, origin=doc_id, title="", language=detect_language(text),
                 sections=[Section("", [Block(text, 1)])])


def index_set(library: Library, dataset: RetrievalSet) -> float:
    """Store every document of the set; returns seconds spent."""
    start = time.perf_counter()
    papers = [_doc_paper(d, t) for d, t in dataset.docs.items()]
    for i in range(0, len(papers), 256):
        report = library.add_parsed(papers[i : i + 256], scope=SCOPE)
        if report.failed:
            raise RuntimeError(f"indexing failed: {report.failed[:3]}")
    return time.perf_counter() - start


def _doc_ranking(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(pid.removeprefix("doc-") for pid in ids))


def rank_dense(library: Library, query: str, depth: int, hybrid: bool | None = False) -> list[str]:
    """The search's ranking (``hybrid`` None: as configured). No relevance floor: this scores the
    order of every ranked passage, where a context keeps only those near the top."""
    result = library.search(query, [SCOPE], k=depth * 3, hops=0, hybrid=hybrid, hit_floor=0.0)
    return _doc_ranking([h.paper_id for h in result.hits])[:depth]


def rank_bm25(index: KeywordIndex, query: str, depth: int) -> list[str]:
    return _doc_ranking([hit.paper_id for hit, _ in index.search(query, depth * 3)])[:depth]


# Hybrid modes and the fusion each one forces; "hybrid" keeps the library's own setting.
HYBRID_FUSION = {"hybrid": None, "hybrid-convex": "convex", "hybrid-rrf": "rrf"}


def evaluate(library: Library, dataset: RetrievalSet, modes: tuple[str, ...] = ("dense", "hybrid", "bm25"), k: int = 10) -> dict[str, Any]:
    """nDCG@k, Recall@k, accuracy@1 and MRR@k per mode, plus timings.

    Modes: default (the search as configured), dense, bm25, hybrid (the configured fusion),
    hybrid-convex, hybrid-rrf.
    """
    index_seconds = index_set(library, dataset)
    keyword = KeywordIndex(library.chunk_texts([SCOPE])) if "bm25" in modes else None
    out: dict[str, Any] = {"dataset": dataset.name, "documents": len(dataset.docs), "queries": len(dataset.queries),
                           "index_seconds": round(index_seconds, 1), "embedding_model": library.embedder.name}
    configured = library.settings
    for mode in modes:
        ndcg, recall, acc1, mrr = [], [], [], []
        fusion = HYBRID_FUSION.get(mode)
        library.settings = configured.with_overrides({"retrieval.fusion": fusion}) if fusion else configured
        start = time.perf_counter()
        for qid, query in dataset.queries.items():
            if keyword is not None and mode == "bm25":
                ranked = rank_bm25(keyword, query, k)
            else:
                ranked = rank_dense(library, query, k, hybrid=None if mode == "default" else mode in HYBRID_FUSION)
            rel = dataset.qrels[qid]
            ndcg.append(ndcg_at_k(ranked, rel, k))
            recall.append(recall_at_k(ranked, rel, k))
            acc1.append(1.0 if ranked and rel.get(ranked[0], 0) > 0 else 0.0)
            mrr.append(reciprocal_rank(ranked, {d for d, r in rel.items() if r > 0}, k))
        out[mode] = {
            f"ndcg@{k}": round(mean(ndcg), 4),
            f"recall@{k}": round(mean(recall), 4),
            "accuracy@1": round(mean(acc1), 4),
            f"mrr@{k}": round(mean(mrr), 4),
            "ms_per_query": round((time.perf_counter() - start) * 1000 / max(1, len(dataset.queries)), 1),
        }
    library.settings = configured
    return out
