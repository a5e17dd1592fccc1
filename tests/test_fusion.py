"""Hybrid fusion: what a keyword match may and may not do to the vector ranking."""

from __future__ import annotations

import pytest

from scholargraph.retrieval.fusion import convex_fusion, min_max, reciprocal_rank_fusion, relative_to_best
from scholargraph.retrieval.keyword import KeywordIndex
from scholargraph.chroma_store import ChunkHit


def ranked(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=scores.get, reverse=True)


def test_a_passage_both_rankings_like_beats_one_only_one_likes():
    dense = {"both": 0.80, "dense-only": 0.82, "weak": 0.30}
    keyword = {"both": 11.0, "keyword-only": 12.0, "weak": 1.0}
    order = ranked(convex_fusion(dense, keyword, alpha=0.4))
    assert order[0] == "both" and order[-1] == "weak"


def test_alpha_moves_the_balance_between_vectors_and_keywords():
    dense = {"a": 0.9, "b": 0.2}
    keyword = {"a": 1.0, "b": 9.0}
    assert ranked(convex_fusion(dense, keyword, alpha=0.9))[0] == "a"
    assert ranked(convex_fusion(dense, keyword, alpha=0.1))[0] == "b"


def test_a_question_whose_terms_the_library_lacks_keeps_the_vector_ranking():
    """A Chinese question over English papers shares one term ("BERT") with one passage."""
    dense = {"cross-lingual-match": 0.71, "second": 0.65, "third": 0.60}
    keyword = {"mentions-bert": 3.2}
    assert ranked(convex_fusion(dense, keyword, alpha=0.4, coverage=1 / 12))[:2] == ["cross-lingual-match", "second"]
    # undamped, the lone keyword hit would jump to the top
    assert ranked(convex_fusion(dense, keyword, alpha=0.4, coverage=1.0))[0] == "mentions-bert"


def test_alpha_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="hybrid_alpha"):
        convex_fusion({"a": 1.0}, {}, alpha=1.5)


def test_min_max_maps_onto_zero_one_and_a_flat_list_onto_one():
    assert min_max({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert min_max({"a": 0.3, "b": 0.3}) == {"a": 1.0, "b": 1.0}
    assert min_max({}) == {}


def test_weighted_rrf_counts_each_ranking_by_its_weight():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], k=60, weights=[1.0, 3.0])
    assert ranked(fused) == ["b", "a"]
    assert ranked(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)) == ["b", "a", "c"]


def test_a_keyword_match_in_a_passage_the_vectors_call_unrelated_does_not_climb():
    cosine = {"on-topic": 0.40, "close": 0.36, "shares-one-word": 0.05}
    keyword = {"shares-one-word": 7.0, "close": 2.0}
    assert ranked(convex_fusion(cosine, keyword, alpha=0.3, floor=0.4))[-1] == "shares-one-word"
    assert ranked(convex_fusion(cosine, keyword, alpha=0.3, floor=0.0))[0] == "shares-one-word"


def test_dense_scores_keep_their_distance_from_the_best_hit():
    assert relative_to_best({"a": 0.5, "b": 0.25, "c": -0.1}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert relative_to_best({"a": -0.2}) == {"a": 0.0}


def _index(*texts: str) -> KeywordIndex:
    return KeywordIndex([ChunkHit(f"s:p{i}:00000", f"p{i}", "s", t, "", 1, 1, 0, 0.0) for i, t in enumerate(texts)])


def test_coverage_weighs_terms_by_rarity_and_counts_missing_ones_as_rarest():
    index = _index("graph neural networks for citation recommendation", "graph transformers for molecules",
                   "graph sampling at scale", "protein folding with transformers")
    assert index.coverage("citation recommendation with graph networks") == 1.0
    assert index.coverage("nothing matches here") == 0.0
    rare_known = index.coverage("citation 关于引用推荐的方法")      # a rare shared term, Chinese rest
    common_known = index.coverage("graph 关于引用推荐的方法")       # a common shared term
    assert 0.0 < common_known < rare_known < 0.3


def _hit(paper: str, i: int, score: float) -> ChunkHit:
    return ChunkHit(id=f"{paper}-{i}", paper_id=paper, scope="kb", text="", section="", page_start=1,
                    page_end=1, index=i, score=score)


def test_hits_span_the_papers_that_answer_and_a_one_paper_question_keeps_all_its_passages():
    from scholargraph.retrieval.search import diverse_hits

    one = [(1.0 - i / 100, _hit("a", i, 0.5)) for i in range(10)] + [(0.3, _hit("off", 0, 0.4))]
    assert [h.paper_id for h in diverse_hits(one, 8, 0.6, 4)] == ["a"] * 8  # the floor keeps "off" out
    two = [(1.0 - i / 100, _hit("a", i, 0.5)) for i in range(10)] + [(0.8 - i / 100, _hit("b", i, 0.4)) for i in range(3)]
    chosen = diverse_hits(sorted(two, key=lambda p: -p[0]), 8, 0.6, 4)
    assert [h.paper_id for h in chosen].count("b") == 3 and len(chosen) == 8
    assert chosen[0].paper_id == "a"  # still best first


def test_a_named_paper_gets_full_keyword_credit_in_any_language():
    from scholargraph.retrieval.fusion import Relevance

    relevance = Relevance(0.25, alpha=0.3, keyword={}, coverage=0.0, named=frozenset({"papermage"}), name_credit=0.7)
    named, other = relevance.score("c1", "papermage", 0.22), relevance.score("c2", "paperplain", 0.25)
    assert named > 2 * other  # the vectors of "PaperMage 是什么？" cannot tell these apart; the name can


def test_a_question_that_quotes_one_passage_is_about_its_paper_and_an_answered_one_is_not():
    """A pasted abstract scores near 1 against its own passage and half that or less against any
    other; an ordinary question's best passages stay close together, whichever paper they are in."""
    from scholargraph.retrieval.fusion import Relevance
    from scholargraph.retrieval.search import quoted_paper

    pasted = [_hit("beyond", 0, 0.97), _hit("beyond", 1, 0.5), _hit("citesee", 0, 0.22)]
    asked = [_hit("papermage", 0, 0.6), _hit("papermage", 1, 0.57), _hit("s2orc", 0, 0.3)]
    assert quoted_paper(pasted, Relevance(0.97), 0.65) == "beyond"
    assert quoted_paper(asked, Relevance(0.6), 0.65) is None
    assert quoted_paper(pasted, Relevance(0.97), 0.0) is None  # 0 turns it off
    assert quoted_paper(pasted[:1], Relevance(0.97), 0.65) is None  # nothing to stand out from
