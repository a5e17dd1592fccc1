"""Fusing the dense and keyword rankings of hybrid search.

Convex fusion (default) mixes normalised scores: ``alpha * dense + (1 - alpha) * coverage *
keyword``. The two sides are normalised differently, because their scales mean different things.
Cosine similarity has a real zero (unrelated), so dense scores are divided by the best one and
keep their distance from it. A BM25 score has no fixed scale from one question to the next, so
it is min-max scaled onto [0, 1]. This is the "theoretical min-max" of Bruch et al. (2023, "An
Analysis of Fusion Functions for Hybrid Retrieval"), who found convex fusion beats reciprocal
rank fusion across BEIR. We measured the same on SciFact-mini (docs/evaluation.md).
``coverage`` is the share of the question's terms the keyword index knows. A Chinese question
over English papers may match one English term ("GPT-4"); without the damping, that one lexical
hit would outrank the cross-lingual matches. For the same reason keyword matches count only in
papers written like the question (CJK or alphabetic), and only where the vectors find the passage
at least ``floor`` as close as the best hit. Reciprocal rank fusion stays available
(``retrieval.fusion = "rrf"``): it uses ranks only, not scores.
"""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60,
                           weights: Sequence[float] | None = None) -> dict[str, float]:
    """Weighted RRF score per id over several rankings (best first)."""
    weights = [1.0] * len(rankings) if weights is None else weights
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank + 1)
    return fused


def min_max(scores: dict[str, float]) -> dict[str, float]:
    """Scores mapped onto [0, 1] within the list; a single score (or a flat list) becomes 1."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high <= low:
        return {item: 1.0 for item in scores}
    return {item: (score - low) / (high - low) for item, score in scores.items()}


def relative_to_best(scores: dict[str, float]) -> dict[str, float]:
    """Cosines as a share of the best one (negative ones as 0): 1 for the top hit, 0 for unrelated."""
    best = max(scores.values(), default=0.0)
    if best <= 0.0:
        return {item: 0.0 for item in scores}
    return {item: max(score, 0.0) / best for item, score in scores.items()}


def convex_fusion(cosine: dict[str, float], keyword: dict[str, float], alpha: float,
                  coverage: float = 1.0, floor: float = 0.0) -> dict[str, float]:
    """``alpha`` x cosine relative to the best + (1 - alpha) x ``coverage`` x min-max keyword, per id.

    ``cosine`` holds every candidate's similarity to the question, keyword-only ones included.
    A keyword match counts only where that relative cosine reaches ``floor``: a passage the
    vectors call unrelated does not climb on one shared word.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"retrieval.hybrid_alpha must lie in [0, 1], got {alpha}")
    dense, kw = relative_to_best(cosine), min_max(keyword)
    keyword_weight = (1.0 - alpha) * max(0.0, min(1.0, coverage))
    fused = {}
    for item in dense.keys() | kw.keys():
        closeness = dense.get(item, 0.0)
        lexical = kw.get(item, 0.0) if closeness >= floor else 0.0
        fused[item] = alpha * closeness + keyword_weight * lexical
    return fused
