"""The evaluation harness measures what it claims: cross-lingual retrieval far above BM25, real metrics."""

from __future__ import annotations

from scholargraph.evaluation.datasets import load_scifact, load_xquad
from scholargraph.evaluation.metrics import ndcg_at_k, recall_at_k, reciprocal_rank
from scholargraph.evaluation.retrieval_eval import evaluate
from scholargraph.library import Library


def test_metrics_on_known_rankings():
    assert ndcg_at_k(["a", "b"], {"a": 1.0}) == 1.0
    assert round(ndcg_at_k(["x", "a"], {"a": 1.0}), 4) == round(1 / 1.584962500721156, 4)
    assert recall_at_k(["a", "x"], {"a": 1, "b": 1}) == 0.5
    assert reciprocal_rank(["x", "y", "a"], {"a"}) == 1 / 3


def test_xquad_zh_to_en_dense_far_above_bm25(settings, shared_data):
    dataset = load_xquad(shared_data / "xquad-r", "zh", "en", limit=80)
    assert len(dataset.docs) == 240 and len(dataset.queries) == 80
    result = evaluate(Library(settings), dataset, ("dense", "bm25"))
    assert result["dense"]["accuracy@1"] >= 0.5
    assert result["dense"]["accuracy@1"] > 5 * max(result["bm25"]["accuracy@1"], 0.02)


def test_scifact_loader_keeps_only_judged_queries(shared_data):
    data = load_scifact(shared_data / "scifact-mini")
    assert len(data.queries) == 178 and len(data.docs) == 2101
    assert all(set(rel) <= set(data.docs) for rel in data.qrels.values())
