"""The context evaluation holds the line: on the shared papers, with default settings, the context
of each question is mostly relevant papers, holds every paper the question needs (some only
reachable over a citation) and starts from a right one."""

from __future__ import annotations

from scholargraph.evaluation.context_eval import evaluate_context, load_context_set, match_papers


def test_the_shipped_question_set_is_varied_and_names_papers_by_title_or_file():
    dataset = load_context_set()
    assert len(dataset.questions) >= 16
    assert len({q.language for q in dataset.questions}) >= 3
    multi = [q for q in dataset.questions if len(q.required) > 1]
    assert len(multi) >= 3  # questions whose answer needs a second paper
    stored = [
        {"id": "a", "title": "PaperMage: A Unified Toolkit", "source": "/x/other-name.pdf"},
        {"id": "b", "title": "1903.10676", "source": "/data/papers/1903.10676.pdf"},
    ]
    ids = match_papers(stored, dataset.papers)
    assert ids["papermage"] == "a" and ids["scibert"] == "b" and "s2orc" not in ids


def test_context_eval_floors_on_the_shared_papers(full_library):
    report = evaluate_context(full_library, ["lib"])
    assert report["skipped"] == [] and report["questions"] >= 16
    mean = report["mean"]
    assert mean["recall"] == 1.0, report["recall_short"]
    assert mean["precision"] >= 0.8, [(r["id"], r["context"]) for r in report["per_question"] if r["precision"] < 1]
    assert len(report["top1_wrong"]) <= 1, report["top1_wrong"]
    assert 0 < mean["tokens"] <= full_library.settings.retrieval.context_tokens


def test_graph_ablation_brings_the_cited_papers_into_the_context_with_default_settings(full_library):
    """The graph ablation's probes paste the opening of a citing paper's abstract (PaperMage,
    Beyond Summarization): without the graph only that paper is in the context; one hop brings
    in the library papers it cites, though none of their passages scores near the quoted one."""
    from scholargraph.evaluation.graph_eval import graph_ablation

    report = graph_ablation(full_library, ["lib"], hops_list=(0, 1))
    assert report["probe_papers"] == 2
    assert report["by_hops"]["0"]["cited_papers_in_context"] == 0.0
    one_hop = report["by_hops"]["1"]
    assert one_hop["cited_papers_in_context"] >= 0.875
    assert set(one_hop["neighbour_relations"]) == {"cites"}  # the quoted paper's citations, nothing else
