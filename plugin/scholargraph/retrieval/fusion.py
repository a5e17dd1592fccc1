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

from collections.abc import Callable, Sequence


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
    relevance = Relevance(max(cosine.values(), default=0.0), alpha, min_max(keyword), coverage, floor)
    return {item: relevance.score(item, "", cosine.get(item, 0.0)) for item in cosine.keys() | keyword.keys()}


class Relevance:
    """How well one passage answers the question, on one scale for hits and graph neighbours.

    The convex fusion above, kept as a scorer so that a neighbour's best passage, found after
    the hits, is judged exactly like a hit: relative cosine (``alpha``), the keyword side where
    the index matched it, and full keyword credit for passages of a paper the question names
    ("What is PaperMage?", "PaperMage 是什么？"): a name is lexical evidence in any language. A
    passage the keyword side cannot see (a Chinese paper for an English question) is judged on
    its vectors alone, scaled to the full range, so the fusion never holds a missing keyword
    match against a paper no keyword could match.
    Gates compare these scores with the top hit's.
    """

    def __init__(self, best_cosine: float, alpha: float = 1.0, keyword: dict[str, float] | None = None,
                 coverage: float = 0.0, floor: float = 0.0, named: frozenset[str] = frozenset(),
                 name_credit: float = 0.0, ranks: dict[str, float] | None = None,
                 blind: Callable[[str], bool] | None = None) -> None:
        self.best = max(best_cosine, 1e-9)
        self.alpha = alpha
        self.keyword = keyword or {}  # already on [0, 1] (``min_max``)
        self.keyword_weight = (1.0 - alpha) * max(0.0, min(1.0, coverage))
        self.floor = floor
        self.named = named
        self.name_credit = name_credit
        self.blind = blind  # papers the keyword side cannot see (another script): vectors alone
        top = max((ranks or {}).values(), default=0.0)
        self.ranks = {cid: r / top for cid, r in ranks.items()} if ranks and top > 0 else None

    def score(self, chunk_id: str, paper_id: str, cosine: float) -> float:
        """Relevance of one passage; with ``ranks`` (RRF, scaled to the best) ranked passages
        score by rank, the others by relative cosine."""
        closeness = min(max(cosine, 0.0) / self.best, 1.0)
        if self.ranks is not None:
            base = self.ranks.get(chunk_id, closeness * min(self.ranks.values()))
            return max(base, self.name_credit) if paper_id in self.named else base
        if self.blind is not None and self.blind(paper_id):  # no keyword can match: the vectors speak for both
            lexical = self.keyword_weight * closeness
        else:
            lexical = self.keyword_weight * self.keyword.get(chunk_id, 0.0) if closeness >= self.floor else 0.0
        if paper_id in self.named:
            lexical = max(lexical, self.name_credit)
        return self.alpha * closeness + lexical
